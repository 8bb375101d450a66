/// A way to reach a client.
public enum Channel: String, Codable, Sendable, CaseIterable, Hashable {
    case email
    case sms
    case whatsapp
}
