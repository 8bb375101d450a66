import CRMModel
import Foundation
import GRDB

/// How a timeline event maps to a `status_events` row.
enum StatusEventRow {
    static func event(from row: Row) throws -> StatusEvent {
        guard let status = CommunicationStatus(rawValue: row["status"]) else {
            throw StoreError(.corruptRecord, "a status event has a status this version cannot read")
        }
        return StatusEvent(
            status: status,
            at: Date(millisecondsSince1970: row["at"]),
            channel: (row["channel"] as String?).flatMap(Channel.init(rawValue:)),
            detail: row["detail"]
        )
    }
}
