import CRMModel
import Foundation

/// A timeline event as the values of its `status_events` row.
struct StatusEventColumns: Sendable {
    var status: String
    var channel: String?
    var detail: String?
    var at: Int64

    init(status: String, channel: String?, detail: String?, at: Int64) {
        self.status = status
        self.channel = channel
        self.detail = detail
        self.at = at
    }

    init(_ event: StatusEvent) {
        self.init(status: event.status.rawValue, channel: event.channel?.rawValue, detail: event.detail, at: event.at.millisecondsSince1970)
    }

    func event() throws(StoreError) -> StatusEvent {
        guard let status = CommunicationStatus(rawValue: status) else {
            throw StoreError(.corruptRecord, "a status event has a status this version cannot read")
        }
        return StatusEvent(
            status: status, at: Date(millisecondsSince1970: at), channel: channel.flatMap(Channel.init(rawValue:)), detail: detail
        )
    }
}
