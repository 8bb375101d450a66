public import Foundation

/// One communication as `analytics.export` writes it: what happened and when, without a word of
/// personal data (no address, name, context or message).
public struct CommunicationRecord: Sendable, Equatable {
    public var communicationID: String
    public var planID: String
    public var clientID: String
    public var messageType: String
    public var urgency: String
    public var status: String
    /// The channel it went out on, or was last tried on; nil when it never was.
    public var channel: String?
    /// The channel first tried, when it differs from `channel` (a fallback).
    public var fallbackFrom: String?
    public var provider: String?
    public var attempts: Int
    public var retries: Int
    /// The failure category of its last failed attempt.
    public var lastError: String?
    public var createdAt: Date
    public var queuedAt: Date?
    public var sentAt: Date?
    public var deliveredAt: Date?
    public var openedAt: Date?
    public var clickedAt: Date?
    /// When it failed, bounced or was cancelled.
    public var endedAt: Date?

    public init(
        communicationID: String, planID: String, clientID: String, messageType: String, urgency: String, status: String,
        channel: String?, fallbackFrom: String?, provider: String?, attempts: Int, retries: Int, lastError: String?,
        createdAt: Date, queuedAt: Date?, sentAt: Date?, deliveredAt: Date?, openedAt: Date?, clickedAt: Date?, endedAt: Date?
    ) {
        self.communicationID = communicationID
        self.planID = planID
        self.clientID = clientID
        self.messageType = messageType
        self.urgency = urgency
        self.status = status
        self.channel = channel
        self.fallbackFrom = fallbackFrom
        self.provider = provider
        self.attempts = attempts
        self.retries = retries
        self.lastError = lastError
        self.createdAt = createdAt
        self.queuedAt = queuedAt
        self.sentAt = sentAt
        self.deliveredAt = deliveredAt
        self.openedAt = openedAt
        self.clickedAt = clickedAt
        self.endedAt = endedAt
    }
}
