/// A way to reach a client.
public enum Channel: String, Codable, Sendable, CaseIterable, Hashable, WireEnum {
    case email
    case sms
    case whatsapp

    public init(from decoder: any Decoder) throws {
        self = try Self.decode(from: decoder)
    }
}
