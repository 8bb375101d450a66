package import Foundation

/// What a provider's webhook told us, in the engine's terms: one callback can carry several (Meta
/// batches statuses and messages in one post).
package enum ProviderEvent: Sendable, Equatable {
    /// A message we sent moved on at the provider, or failed there.
    case report(DeliveryReport)
    /// A client wrote to us.
    case inbound(InboundMessage)
}

extension ProviderEvent {
    /// When it happened at the provider (or when it arrived, for providers that do not say).
    package var at: Date {
        switch self {
        case .report(let report): report.at
        case .inbound(let message): message.at
        }
    }
}
