package import Channels
package import CRMModel

/// The provider for each channel, chosen once at start-up from the configuration.
package struct ProviderRegistry: Sendable {
    private let providers: [Channel: any ChannelProvider]

    package init(_ providers: [any ChannelProvider]) {
        self.providers = Dictionary(providers.map { ($0.channel, $0) }, uniquingKeysWith: { first, _ in first })
    }

    package func provider(for channel: Channel) -> (any ChannelProvider)? {
        providers[channel]
    }

    /// Provider name by channel, for `health`.
    package var names: [Channel: String] {
        providers.mapValues(\.name)
    }
}
