import CRMModel
import Foundation

/// What both backends' compliance operations share: which statuses retention never touches, the
/// details they audit, and how erasure names its work.
enum ComplianceSQL {
    /// Communications still waiting to be sent: retention never purges them, erasure cancels them.
    static let unsentStatuses = "('pending', 'queued', 'scheduled')"

    /// The reason a communication cancelled by an erasure gives.
    static let erasedReason = "client erased"

    /// Who changed a client's preferences, from the source the save names.
    static func actor(ofSource source: String) -> AuditEntry.Actor {
        source == "preferences.update" ? .rpc : .webhook
    }

    /// What `communication.accepted` records: the decision's shape, nothing personal.
    static func acceptedDetail(_ communication: Communication) -> String {
        "message_type=\(communication.messageType.rawValue) urgency=\(communication.urgency.rawValue) status=\(communication.status.rawValue) "
            + "channels=\(communication.decision.channels.map(\.rawValue).joined(separator: ","))"
    }

    static func erasedDetail(erased: Int, cancelled: Int) -> String {
        "erased_communications=\(erased) cancelled_communications=\(cancelled)"
    }

    /// The audit entry of a communication just accepted.
    static func accepted(_ communication: Communication) -> AuditEntry {
        AuditEntry(
            at: communication.createdAt, actor: .rpc, action: AuditEntry.communicationAccepted, clientID: communication.clientID,
            communicationID: communication.id, detail: acceptedDetail(communication)
        )
    }
}
