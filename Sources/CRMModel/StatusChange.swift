public import Foundation

/// A communication moved to a new status: what the `communication.status` notification carries.
public struct StatusChange: Sendable, Equatable, Codable {
    public var communicationID: UUID
    public var planID: UUID
    public var clientID: UUID
    public var status: CommunicationStatus
    public var previousStatus: CommunicationStatus?
    public var channel: Channel?
    /// The attempt the change came from, when it came from one.
    public var attempt: Int?
    public var providerMessageID: String?
    public var error: String?
    public var at: Date
    /// For the metrics' labels; not part of the notification.
    public var messageType: MessageType? = nil
    /// Its place in the store's event log, once written there.
    public var seq: Int64? = nil

    public init(
        communicationID: UUID,
        planID: UUID,
        clientID: UUID,
        status: CommunicationStatus,
        previousStatus: CommunicationStatus?,
        channel: Channel? = nil,
        attempt: Int? = nil,
        providerMessageID: String? = nil,
        error: String? = nil,
        at: Date,
        messageType: MessageType? = nil
    ) {
        self.messageType = messageType
        self.communicationID = communicationID
        self.planID = planID
        self.clientID = clientID
        self.status = status
        self.previousStatus = previousStatus
        self.channel = channel
        self.attempt = attempt
        self.providerMessageID = providerMessageID
        self.error = error
        self.at = at
    }

    /// The first change of a communication just accepted: to `queued` or `scheduled`, from nothing.
    public init(accepted communication: Communication) {
        self.init(
            communicationID: communication.id, planID: communication.planID, clientID: communication.clientID,
            status: communication.status, previousStatus: nil, at: communication.createdAt, messageType: communication.messageType
        )
    }

    enum CodingKeys: String, CodingKey {
        case communicationID = "communication_id"
        case planID = "plan_id"
        case clientID = "client_id"
        case status
        case previousStatus = "previous_status"
        case channel
        case attempt
        case providerMessageID = "provider_message_id"
        case error
        case at
        case seq
    }
}
