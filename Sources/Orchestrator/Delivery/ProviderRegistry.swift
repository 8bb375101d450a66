package import Channels
package import CRMModel

/// The providers of each channel, in the order they are tried (for email, a list of SMTP relays),
/// chosen once at start-up from the configuration.
package struct ProviderRegistry: Sendable {
    private let providers: [Channel: [any ChannelProvider]]

    /// `providers` in order of preference; each goes to its own channel's list.
    package init(_ providers: [any ChannelProvider]) {
        self.providers = Dictionary(grouping: providers, by: \.channel)
    }

    package func providers(for channel: Channel) -> [any ChannelProvider] {
        providers[channel] ?? []
    }

    package func provider(named name: String, on channel: Channel) -> (any ChannelProvider)? {
        providers(for: channel).first { $0.name == name }
    }

    /// Provider names by channel, in order, for `health`.
    package var names: [Channel: [String]] {
        providers.mapValues { $0.map(\.name) }
    }

    /// Every provider by channel, in order, with its health problem if it has one: what the delivery machine chooses from.
    package func states(_ health: ProviderHealth) -> [Channel: [DeliveryMachine.Provider]] {
        providers.mapValues { list in list.map { DeliveryMachine.Provider(name: $0.name, problem: health.problem(of: $0.name)) } }
    }
}
