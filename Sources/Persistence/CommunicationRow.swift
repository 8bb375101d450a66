import CRMModel
import Foundation
import GRDB

/// How a communication maps to a `communications` row and back.
struct CommunicationRow {
    let id: String
    let arguments: StatementArguments

    init(_ communication: Communication, encoder: JSONEncoder) throws(StoreError) {
        id = communication.id.uuidString.lowercased()
        do {
            arguments = [
                id,
                communication.planID.uuidString.lowercased(),
                communication.clientID.uuidString.lowercased(),
                communication.messageType.rawValue,
                communication.urgency.rawValue,
                communication.status.rawValue,
                communication.channelUsed?.rawValue,
                communication.decision.priority,
                String(decoding: try encoder.encode(communication.decision), as: UTF8.self),
                String(decoding: try encoder.encode(communication.recipient), as: UTF8.self),
                String(decoding: try encoder.encode(communication.context), as: UTF8.self),
                communication.preferredChannel?.rawValue,
                communication.idempotencyKey,
                communication.createdAt.millisecondsSince1970,
                communication.updatedAt.millisecondsSince1970,
            ]
        } catch {
            throw StoreError(.corruptRecord, "cannot encode communication \(id)")
        }
    }

    static func communication(from row: Row, decoder: JSONDecoder) throws -> Communication {
        let summary = try summary(from: row)
        func json<T: Decodable>(_ type: T.Type, _ column: String) throws -> T {
            let text: String = row[column]
            do {
                return try decoder.decode(type, from: Data(text.utf8))
            } catch {
                throw StoreError(.corruptRecord, "communication \(summary.id) has an unreadable \(column)")
            }
        }
        let decision = try json(Decision.self, "decision")
        let request = CommunicationRequest(
            planID: summary.planID,
            clientID: summary.clientID,
            messageType: summary.messageType,
            urgency: summary.urgency,
            recipient: try json(Recipient.self, "recipient"),
            context: try json([String: JSONValue].self, "context"),
            preferredChannel: (row["preferred_channel"] as String?).flatMap(Channel.init(rawValue:)),
            idempotencyKey: row["idempotency_key"]
        )
        var communication = Communication(
            id: summary.id, request: request, decision: decision, status: summary.status, createdAt: summary.createdAt
        )
        communication.channelUsed = summary.channelUsed
        communication.updatedAt = summary.updatedAt
        communication.events = []
        return communication
    }

    static func summary(from row: Row) throws -> CommunicationSummary {
        let id: String = row["id"]
        guard let uuid = UUID(uuidString: id),
            let planID = UUID(uuidString: row["plan_id"]),
            let clientID = UUID(uuidString: row["client_id"]),
            let messageType = MessageType(rawValue: row["message_type"]),
            let urgency = Urgency(rawValue: row["urgency"]),
            let status = CommunicationStatus(rawValue: row["status"])
        else {
            throw StoreError(.corruptRecord, "communication \(id) has a field this version cannot read")
        }
        return CommunicationSummary(
            id: uuid,
            planID: planID,
            clientID: clientID,
            messageType: messageType,
            urgency: urgency,
            status: status,
            channelUsed: (row["channel_used"] as String?).flatMap(Channel.init(rawValue:)),
            createdAt: Date(millisecondsSince1970: row["created_at"]),
            updatedAt: Date(millisecondsSince1970: row["updated_at"])
        )
    }
}
