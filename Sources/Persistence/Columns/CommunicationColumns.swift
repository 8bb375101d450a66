import CRMModel
import Foundation

/// A communication as the values of its `communications` row, the same on every backend.
///
/// Backends only move these values in and out of their own row types; what a value means, and how a
/// communication is rebuilt from them, is decided here once. `recipient` and `context` hold personal
/// data and are sealed under the client's key (`ClientKey`); everything else is plain, for queries.
struct CommunicationColumns: Sendable {
    var id: String
    var planID: String
    var clientID: String
    var messageType: String
    var urgency: String
    var status: String
    var channelUsed: String?
    var priority: Int
    var decision: String
    var recipient: Data
    var context: Data
    var preferredChannel: String?
    var idempotencyKey: String?
    var attachmentCount: Int
    var createdAt: Int64
    var updatedAt: Int64
    /// When the send loop should next work on it (`next_attempt_at`); written, never read back into
    /// the model.
    var dueAt: Int64?
    /// When the client's data was erased; read, never written here (`Store.forget` sets it).
    var erasedAt: Int64?
    /// When it was first queued (an analytics rollup, see `AnalyticsRollups`); written on insert
    /// from the events it is stored with, never read back into the model.
    var queuedAt: Int64?

    init(
        id: String, planID: String, clientID: String, messageType: String, urgency: String, status: String,
        channelUsed: String?, priority: Int, decision: String, recipient: Data, context: Data,
        preferredChannel: String?, idempotencyKey: String?, attachmentCount: Int, createdAt: Int64, updatedAt: Int64,
        dueAt: Int64? = nil
    ) {
        self.id = id
        self.planID = planID
        self.clientID = clientID
        self.messageType = messageType
        self.urgency = urgency
        self.status = status
        self.channelUsed = channelUsed
        self.priority = priority
        self.decision = decision
        self.recipient = recipient
        self.context = context
        self.preferredChannel = preferredChannel
        self.idempotencyKey = idempotencyKey
        self.attachmentCount = attachmentCount
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.dueAt = dueAt
    }

    init(_ communication: Communication, encoder: WireEncoder, key: ClientKey) throws(StoreError) {
        let id = communication.id.key
        func data(_ value: some Encodable) throws(StoreError) -> Data {
            do { return try encoder.encode(value) } catch {
                throw StoreError(.corruptRecord, "cannot encode communication \(id)")
            }
        }
        func json(_ value: some Encodable) throws(StoreError) -> String {
            String(decoding: try data(value), as: UTF8.self)
        }
        self.init(
            id: id,
            planID: communication.planID.key,
            clientID: communication.clientID.key,
            messageType: communication.messageType.rawValue,
            urgency: communication.urgency.rawValue,
            status: communication.status.rawValue,
            channelUsed: communication.channelUsed?.rawValue,
            priority: communication.decision.priority,
            decision: try json(communication.decision),
            recipient: try key.seal(try data(communication.recipient), "communications.recipient", row: id),
            context: try key.seal(try data(communication.context), "communications.context", row: id),
            preferredChannel: communication.preferredChannel?.rawValue,
            idempotencyKey: communication.idempotencyKey,
            attachmentCount: communication.attachmentCount,
            createdAt: communication.createdAt.millisecondsSince1970,
            updatedAt: communication.updatedAt.millisecondsSince1970,
            dueAt: communication.status.awaitsSending ? communication.decision.sendAt.millisecondsSince1970 : nil
        )
        queuedAt = communication.events.first { $0.status == .queued }?.at.millisecondsSince1970
    }

    /// The communication, without its attempts and events (they live in their own tables).
    ///
    /// Without the client's key (it was shredded) the personal fields read back empty.
    func communication(decoder: JSONDecoder, key: ClientKey?) throws(StoreError) -> Communication {
        let summary = try summary()
        func json<T: Decodable>(_ type: T.Type, _ data: Data, _ column: String) throws(StoreError) -> T {
            do { return try decoder.decode(type, from: data) } catch {
                throw StoreError(.corruptRecord, "communication \(id) has an unreadable \(column)")
            }
        }
        // Erased: the key in the store now (if any) is a new one, made for later communications.
        let key = erasedAt == nil ? key : nil
        func sealed<T: Decodable>(_ type: T.Type, _ data: Data, _ column: String, erased: T) throws(StoreError) -> T {
            guard let key else { return erased }
            return try json(type, try key.open(data, "communications.\(column)", row: id), column)
        }
        let request = CommunicationRequest(
            planID: summary.planID,
            clientID: summary.clientID,
            messageType: summary.messageType,
            urgency: summary.urgency,
            recipient: try sealed(Recipient.self, recipient, "recipient", erased: Recipient()),
            context: try sealed([String: JSONValue].self, context, "context", erased: [:]),
            preferredChannel: preferredChannel.flatMap(Channel.init(rawValue:)),
            idempotencyKey: idempotencyKey
        )
        var communication = Communication(
            id: summary.id, request: request, decision: try json(Decision.self, Data(decision.utf8), "decision"),
            status: summary.status, createdAt: summary.createdAt
        )
        communication.channelUsed = summary.channelUsed
        communication.attachmentCount = attachmentCount
        communication.updatedAt = summary.updatedAt
        communication.events = []
        communication.erased = erasedAt != nil
        communication.erasedAt = erasedAt.map(Date.init(millisecondsSince1970:))
        return communication
    }

    func summary() throws(StoreError) -> CommunicationSummary {
        try Self.summary(
            id: id, planID: planID, clientID: clientID, messageType: messageType, urgency: urgency, status: status,
            channelUsed: channelUsed, createdAt: createdAt, updatedAt: updatedAt
        )
    }

    /// A listing row: the summary columns only.
    static func summary(
        id: String, planID: String, clientID: String, messageType: String, urgency: String, status: String,
        channelUsed: String?, createdAt: Int64, updatedAt: Int64
    ) throws(StoreError) -> CommunicationSummary {
        guard let uuid = UUID(hexString: id),
            let plan = UUID(hexString: planID),
            let client = UUID(hexString: clientID),
            let type = MessageType(rawValue: messageType),
            let urgencyValue = Urgency(rawValue: urgency),
            let statusValue = CommunicationStatus(rawValue: status)
        else {
            throw StoreError(.corruptRecord, "communication \(id) has a field this version cannot read")
        }
        return CommunicationSummary(
            id: uuid, planID: plan, clientID: client, messageType: type, urgency: urgencyValue, status: statusValue,
            channelUsed: channelUsed.flatMap(Channel.init(rawValue:)),
            createdAt: Date(millisecondsSince1970: createdAt),
            updatedAt: Date(millisecondsSince1970: updatedAt)
        )
    }
}
