package import CRMModel
package import Foundation

/// The body Meta posts for the `messages` field of a WhatsApp Business Account: statuses of messages
/// we sent and messages clients sent us, batched in entries and changes. Everything is optional here,
/// because Meta adds fields and types over time and an unknown one must be skipped, not refused.
package struct WhatsAppNotification: Decodable, Sendable {
    var entry: [Entry]?

    struct Entry: Decodable, Sendable {
        var changes: [Change]?
    }

    struct Change: Decodable, Sendable {
        var field: String?
        var value: Value?
    }

    struct Value: Decodable, Sendable {
        var statuses: [Status]?
        var messages: [Message]?
    }

    struct Status: Decodable, Sendable {
        var id: String?
        var status: String?
        var timestamp: String?
        var errors: [ErrorItem]?
    }

    struct ErrorItem: Decodable, Sendable {
        var code: Int?
        var title: String?
    }

    struct Message: Decodable, Sendable {
        var from: String?
        var id: String?
        var timestamp: String?
        var type: String?
        var text: Text?
        var button: Button?
        var interactive: Interactive?
        var context: Context?
    }

    struct Text: Decodable, Sendable { var body: String? }
    /// A template's quick-reply button: its label and the payload the template defined.
    struct Button: Decodable, Sendable {
        var text: String?
        var payload: String?
    }
    /// The message of ours a reply answers.
    struct Context: Decodable, Sendable { var id: String? }
    struct Interactive: Decodable, Sendable {
        var buttonReply: Reply?
        var listReply: Reply?
        enum CodingKeys: String, CodingKey {
            case buttonReply = "button_reply"
            case listReply = "list_reply"
        }
    }
    struct Reply: Decodable, Sendable {
        var id: String?
        var title: String?
    }

    /// The events in the post, in the order Meta listed them, each at its own timestamp (Meta sends
    /// statuses out of order, and `read` without `delivered`).
    package func events(receivedAt now: Date) -> [ProviderEvent] {
        var events: [ProviderEvent] = []
        for change in (entry ?? []).flatMap({ $0.changes ?? [] }) where change.field == nil || change.field == "messages" {
            for status in change.value?.statuses ?? [] {
                guard let id = status.id, let mapped = status.status.flatMap(Self.canonical) else { continue }
                let error = status.errors?.first
                events.append(.report(DeliveryReport(
                    channel: .whatsapp, providerMessageID: id, status: mapped, at: Self.date(status.timestamp) ?? now,
                    error: error.map { "WhatsApp error \($0.code.map(String.init) ?? "?")" + ($0.title.map { ": \(Redaction.redact($0))" } ?? "") },
                    providerCode: error?.code.map(String.init)
                )))
            }
            for message in change.value?.messages ?? [] {
                guard let from = message.from, let id = message.id else { continue }
                let reply = message.interactive?.buttonReply ?? message.interactive?.listReply
                let text = message.text?.body ?? message.button?.text ?? reply?.title ?? ""
                // A tapped row or button names the option by the id we gave it; a template's quick
                // reply by its payload.
                events.append(.inbound(InboundMessage(
                    channel: .whatsapp, from: from.hasPrefix("+") ? from : "+" + from, text: text, providerMessageID: id,
                    at: Self.date(message.timestamp) ?? now, selection: reply?.id.map { Selection(id: $0, title: reply?.title) },
                    quickReply: message.button?.payload.map { Selection(id: $0, title: message.button?.text) }, inReplyTo: message.context?.id
                )))
            }
        }
        // Within one post too, the provider's time decides the order: a `failed` listed before the
        // `delivered` that preceded it must not end the message first.
        return events.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }

    static func canonical(_ status: String) -> CommunicationStatus? {
        switch status {
        case "delivered": .delivered
        case "read": .opened
        case "failed": .failed
        default: nil
        }
    }

    /// Meta's timestamps are Unix seconds as strings.
    static func date(_ timestamp: String?) -> Date? {
        timestamp.flatMap(TimeInterval.init).map { Date(timeIntervalSince1970: $0) }
    }
}
