import CRMModel
import Foundation

/// An audit entry as the values of its `audit_log` row.
struct AuditColumns: Sendable {
    var seq: Int64
    var at: Int64
    var actor: String
    var action: String
    var clientID: String?
    var communicationID: String?
    var detail: String?

    func entry() throws(StoreError) -> AuditEntry {
        guard let actor = AuditEntry.Actor(rawValue: actor) else {
            throw StoreError(.corruptRecord, "audit entry \(seq) has an actor this version cannot read")
        }
        return AuditEntry(
            at: Date(millisecondsSince1970: at), actor: actor, action: action, clientID: clientID.flatMap(UUID.init(hexString:)),
            communicationID: communicationID.flatMap(UUID.init(hexString:)), detail: detail, seq: seq
        )
    }
}
