/// How soon a communication must reach the client; decides channel order, timing and priority.
public enum Urgency: String, Codable, Sendable, CaseIterable, Hashable {
    case critical
    case high
    case normal
    case low
}
