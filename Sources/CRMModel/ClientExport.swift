public import Foundation

/// Everything stored about one client, decrypted: the answer to a GDPR access request
/// (`clients.export`), in a form another system can read (portability).
public struct ClientExport: Sendable, Encodable {
    /// An address the client was reached at.
    public struct Contact: Sendable, Equatable, Encodable {
        public var channel: Channel
        public var address: String
        public var updatedAt: Date

        public init(channel: Channel, address: String, updatedAt: Date) {
            self.channel = channel
            self.address = address
            self.updatedAt = updatedAt
        }

        enum CodingKeys: String, CodingKey {
            case channel, address
            case updatedAt = "updated_at"
        }
    }

    /// When the client last wrote to us on a channel.
    public struct Conversation: Sendable, Equatable, Encodable {
        public var channel: Channel
        public var lastInboundAt: Date

        public init(channel: Channel, lastInboundAt: Date) {
            self.channel = channel
            self.lastInboundAt = lastInboundAt
        }

        enum CodingKeys: String, CodingKey {
            case channel
            case lastInboundAt = "last_inbound_at"
        }
    }

    /// A file sent with an email, without its content.
    public struct AttachmentMetadata: Sendable, Equatable, Encodable {
        public var communicationID: UUID
        public var filename: String
        public var contentType: String
        public var bytes: Int

        public init(communicationID: UUID, filename: String, contentType: String, bytes: Int) {
            self.communicationID = communicationID
            self.filename = filename
            self.contentType = contentType
            self.bytes = bytes
        }

        enum CodingKeys: String, CodingKey {
            case communicationID = "communication_id"
            case filename
            case contentType = "content_type"
            case bytes
        }
    }

    public var clientID: UUID
    public var exportedAt: Date
    public var preferences: ClientPreferences?
    /// Every save of the client's consent flags, oldest first, with what changed them (the audit
    /// trail's `preferences.saved` entries).
    public var consentHistory: [AuditEntry]
    public var contacts: [Contact]
    /// Oldest first, each with its decision, context, attempts and timeline.
    public var communications: [Communication]
    /// The client's replies as `events.list` has them.
    public var inboundMessages: [LoggedEvent]
    public var conversations: [Conversation]
    public var attachments: [AttachmentMetadata]
    /// When the client's data was erased before, if it was.
    public var erasedAt: Date?

    public init(
        clientID: UUID, exportedAt: Date, preferences: ClientPreferences?, consentHistory: [AuditEntry], contacts: [Contact],
        communications: [Communication], inboundMessages: [LoggedEvent], conversations: [Conversation], attachments: [AttachmentMetadata],
        erasedAt: Date?
    ) {
        self.clientID = clientID
        self.exportedAt = exportedAt
        self.preferences = preferences
        self.consentHistory = consentHistory
        self.contacts = contacts
        self.communications = communications
        self.inboundMessages = inboundMessages
        self.conversations = conversations
        self.attachments = attachments
        self.erasedAt = erasedAt
    }

    /// Whether the store knows anything of the client at all.
    public var isEmpty: Bool {
        preferences == nil && communications.isEmpty && inboundMessages.isEmpty && contacts.isEmpty && erasedAt == nil
    }

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id"
        case exportedAt = "exported_at"
        case preferences
        case consentHistory = "consent_history"
        case contacts, communications
        case inboundMessages = "inbound_messages"
        case conversations, attachments
        case erasedAt = "erased_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(clientID, forKey: .clientID)
        try container.encode(exportedAt, forKey: .exportedAt)
        try container.encode(preferences, forKey: .preferences)
        try container.encode(consentHistory, forKey: .consentHistory)
        try container.encode(contacts, forKey: .contacts)
        try container.encode(communications, forKey: .communications)
        try container.encode(inboundMessages, forKey: .inboundMessages)
        try container.encode(conversations, forKey: .conversations)
        try container.encode(attachments, forKey: .attachments)
        try container.encode(erasedAt, forKey: .erasedAt)
    }
}
