package import CRMModel
package import Foundation

/// What Twilio posts to the side port, read from its form fields: a status callback for a message
/// we sent (`MessageSid` with `MessageStatus`) or a message a client sent us (`SmsStatus=received`).
package enum TwilioCallback {
    /// The events in a callback; empty for a status that tells nothing new (`queued`, `sending`, `sent`:
    /// the message was `sent` when Twilio accepted it).
    package static func events(from fields: [(String, String)], receivedAt now: Date) -> [ProviderEvent] {
        var form: [String: String] = [:]
        for (name, value) in fields where form[name] == nil { form[name] = value }
        guard let sid = form["MessageSid"] ?? form["SmsSid"], !sid.isEmpty else { return [] }
        let status = (form["MessageStatus"] ?? form["SmsStatus"])?.lowercased()
        let channel: Channel = (form["From"] ?? "").hasPrefix("whatsapp:") || (form["To"] ?? "").hasPrefix("whatsapp:") ? .whatsapp : .sms

        if status == "received" || status == "receiving" || (status == nil && form["Body"] != nil) {
            guard let from = form["From"].map(address), !from.isEmpty else { return [] }
            return [.inbound(InboundMessage(channel: channel, from: from, text: form["Body"] ?? "", providerMessageID: sid, at: now))]
        }
        guard let status, let mapped = canonical(status) else { return [] }
        let code = form["ErrorCode"].flatMap { $0.isEmpty ? nil : $0 }
        let error = code.map { "Twilio error \($0)" + (form["ErrorMessage"].map { ": \(Redaction.redact($0))" } ?? "") }
        return [.report(DeliveryReport(channel: channel, providerMessageID: sid, status: mapped, at: now, error: error, providerCode: code))]
    }

    /// Twilio's message statuses in ours.
    static func canonical(_ status: String) -> CommunicationStatus? {
        switch status {
        case "delivered": .delivered
        case "read": .opened
        case "undelivered", "failed": .failed
        default: nil
        }
    }

    /// `whatsapp:+15551234567` -> `+15551234567`.
    static func address(_ value: String) -> String {
        value.hasPrefix("whatsapp:") ? String(value.dropFirst("whatsapp:".count)) : value
    }
}
