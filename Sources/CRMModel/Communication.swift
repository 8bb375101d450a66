public import Foundation

/// A communication as it is recorded: the request, the decision, and everything that happened since.
public struct Communication: Sendable, Equatable, Codable {
    public var id: UUID
    public var planID: UUID
    public var clientID: UUID
    public var messageType: MessageType
    public var urgency: Urgency
    public var status: CommunicationStatus
    /// The channel of the attempt the provider accepted, once one has.
    public var channelUsed: Channel?
    public var decision: Decision
    public var recipient: Recipient
    public var context: [String: JSONValue]
    public var preferredChannel: Channel?
    public var idempotencyKey: String?
    /// How many files go with the email; the files themselves are read only when it is sent.
    public var attachmentCount: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var attempts: [Attempt]
    public var events: [StatusEvent]
    /// Whether the client's personal data in it was erased (`clients.forget`): recipient, context and
    /// attachments read back empty; the rest stays for analytics.
    public var erased = false
    public var erasedAt: Date?

    public init(
        id: UUID,
        request: CommunicationRequest,
        decision: Decision,
        status: CommunicationStatus,
        createdAt: Date
    ) {
        self.id = id
        self.planID = request.planID
        self.clientID = request.clientID
        self.messageType = request.messageType
        self.urgency = request.urgency
        self.status = status
        self.channelUsed = nil
        self.decision = decision
        self.recipient = request.recipient
        self.context = request.context
        self.preferredChannel = request.preferredChannel
        self.idempotencyKey = request.idempotencyKey
        self.attachmentCount = request.attachments.count
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.attempts = []
        self.events = [StatusEvent(status: status, at: createdAt)]
    }

    enum CodingKeys: String, CodingKey {
        case id = "communication_id"
        case planID = "plan_id"
        case clientID = "client_id"
        case messageType = "message_type"
        case urgency
        case status
        case channelUsed = "channel_used"
        case decision
        case recipient
        case context
        case preferredChannel = "preferred_channel"
        case idempotencyKey = "idempotency_key"
        case attachmentCount = "attachment_count"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case attempts
        case events
        case erased
        case erasedAt = "erased_at"
    }
}

extension Communication {
    /// The communication after `change`, as the store now has it.
    public mutating func apply(_ change: StatusChange, detail: String? = nil) {
        status = change.status
        if change.status == .sent { channelUsed = change.channel }
        updatedAt = change.at
        events.append(StatusEvent(status: change.status, at: change.at, channel: change.channel, detail: detail ?? change.error))
    }
}
