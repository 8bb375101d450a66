public import Foundation

/// What the workflow asks for: tell this client this thing, this urgently.
public struct CommunicationRequest: Sendable, Equatable, Codable {
    public var planID: UUID
    public var clientID: UUID
    public var messageType: MessageType
    public var urgency: Urgency
    public var recipient: Recipient
    /// Values the templates read, such as `client_name` and `event_date`.
    public var context: [String: JSONValue]
    /// Tried before every other channel when the client has not opted out of it.
    public var preferredChannel: Channel?
    /// Set by a caller that may repeat the request (a workflow node re-run after a resume).
    public var idempotencyKey: String?
    /// Files for the email; the other channels send text only. Stored apart from the communication
    /// and read only when an email is sent.
    public var attachments: [Attachment]

    public init(
        planID: UUID,
        clientID: UUID,
        messageType: MessageType,
        urgency: Urgency,
        recipient: Recipient,
        context: [String: JSONValue] = [:],
        preferredChannel: Channel? = nil,
        idempotencyKey: String? = nil,
        attachments: [Attachment] = []
    ) {
        self.planID = planID
        self.clientID = clientID
        self.messageType = messageType
        self.urgency = urgency
        self.recipient = recipient
        self.context = context
        self.preferredChannel = preferredChannel
        self.idempotencyKey = idempotencyKey
        self.attachments = attachments
    }

    enum CodingKeys: String, CodingKey {
        case planID = "plan_id"
        case clientID = "client_id"
        case messageType = "message_type"
        case urgency
        case recipient
        case context
        case preferredChannel = "preferred_channel"
        case idempotencyKey = "idempotency_key"
        case attachments
    }
}
