package import CRMModel

/// Something that hands a rendered message to the outside world on one channel.
///
/// Requirements on every provider:
/// - `send` returns only when the provider has accepted the message, with the provider's own id for
///   it (receipts arrive later under that id); it never reports `delivered`.
/// - Failures are `ProviderError`s that report what happened, not what it means: how far the message
///   got (refused here, no answer, the HTTP status or SMTP reply), the provider's own code and its
///   `Retry-After`. The policy's error table (`ErrorClasses`) alone turns them into a category. The
///   message never carries the message body, a credential or an address.
/// - It is safe to call concurrently.
package protocol ChannelProvider: Sendable {
    var channel: Channel { get }
    /// A short name for attempts and logs: `outbox`, `smtp`, `twilio`, `whatsapp`.
    var name: String { get }

    func send(_ message: OutboundMessage) async throws(ProviderError) -> ProviderReceipt
}
