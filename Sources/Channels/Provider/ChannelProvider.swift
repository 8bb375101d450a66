package import CRMModel

/// Something that hands a rendered message to the outside world on one channel.
///
/// Requirements on every provider:
/// - `send` returns only when the provider has accepted the message, with the provider's own id for
///   it (receipts arrive later under that id); it never reports `delivered`.
/// - Failures are `ProviderError`s whose category decides what happens next (retry, wait, fall back),
///   and whose message never carries the message body or a credential.
/// - It is safe to call concurrently.
package protocol ChannelProvider: Sendable {
    var channel: Channel { get }
    /// A short name for attempts and logs: `outbox`, `smtp`, `twilio`, `whatsapp`.
    var name: String { get }

    func send(_ message: OutboundMessage) async throws(ProviderError) -> ProviderReceipt
}
