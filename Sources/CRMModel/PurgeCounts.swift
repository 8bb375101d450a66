/// What one retention pass removed (or, dry, would remove), per table.
public struct PurgeCounts: Sendable, Equatable, Encodable {
    public var communications = 0
    public var attempts = 0
    public var statusEvents = 0
    public var attachments = 0
    public var events = 0
    public var inboundMessages = 0
    public var auditLog = 0

    public init() {}

    public var total: Int { communications + attempts + statusEvents + attachments + events + inboundMessages + auditLog }

    public static func + (lhs: PurgeCounts, rhs: PurgeCounts) -> PurgeCounts {
        var sum = PurgeCounts()
        sum.communications = lhs.communications + rhs.communications
        sum.attempts = lhs.attempts + rhs.attempts
        sum.statusEvents = lhs.statusEvents + rhs.statusEvents
        sum.attachments = lhs.attachments + rhs.attachments
        sum.events = lhs.events + rhs.events
        sum.inboundMessages = lhs.inboundMessages + rhs.inboundMessages
        sum.auditLog = lhs.auditLog + rhs.auditLog
        return sum
    }

    enum CodingKeys: String, CodingKey {
        case communications, attempts
        case statusEvents = "status_events"
        case attachments, events
        case inboundMessages = "inbound_messages"
        case auditLog = "audit_log"
    }
}
