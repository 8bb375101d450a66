public import Foundation

/// A communication as listed: who, what, and where it stands, without its timeline.
public struct CommunicationSummary: Sendable, Equatable, Codable {
    public var id: UUID
    public var planID: UUID
    public var clientID: UUID
    public var messageType: MessageType
    public var urgency: Urgency
    public var status: CommunicationStatus
    public var channelUsed: Channel?
    public var createdAt: Date
    public var updatedAt: Date

    public init(_ communication: Communication) {
        id = communication.id
        planID = communication.planID
        clientID = communication.clientID
        messageType = communication.messageType
        urgency = communication.urgency
        status = communication.status
        channelUsed = communication.channelUsed
        createdAt = communication.createdAt
        updatedAt = communication.updatedAt
    }

    public init(
        id: UUID, planID: UUID, clientID: UUID, messageType: MessageType, urgency: Urgency,
        status: CommunicationStatus, channelUsed: Channel?, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.planID = planID
        self.clientID = clientID
        self.messageType = messageType
        self.urgency = urgency
        self.status = status
        self.channelUsed = channelUsed
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id = "communication_id"
        case planID = "plan_id"
        case clientID = "client_id"
        case messageType = "message_type"
        case urgency
        case status
        case channelUsed = "channel_used"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}
