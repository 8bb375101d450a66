/// How soon a communication must reach the client; decides channel order, timing and priority.
public enum Urgency: String, Codable, Sendable, CaseIterable, Hashable, WireEnum {
    case critical
    case high
    case normal
    case low

    public init(from decoder: any Decoder) throws {
        self = try Self.decode(from: decoder)
    }
}
