public import Foundation

/// One line of the audit trail: who did what to which client's data, and when. Append-only.
///
/// `detail` never holds personal data (no address, name or message text): counts, sources, statuses,
/// flags, error categories.
public struct AuditEntry: Sendable, Equatable, Encodable {
    /// What set the change off.
    public enum Actor: String, Sendable, Codable, CaseIterable {
        /// A JSON-RPC method the workflow called.
        case rpc
        /// A provider or a mail client, through the side port.
        case webhook
        /// The sidecar itself: retention, key rotation, a provider refusing its credentials.
        case system
    }

    /// Its place in the trail, once written.
    public var seq: Int64?
    public var at: Date
    public var actor: Actor
    public var action: String
    public var clientID: UUID?
    public var communicationID: UUID?
    public var detail: String?

    public init(
        at: Date, actor: Actor, action: String, clientID: UUID? = nil, communicationID: UUID? = nil, detail: String? = nil, seq: Int64? = nil
    ) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.action = action
        self.clientID = clientID
        self.communicationID = communicationID
        self.detail = detail
    }

    /// Whether the law needs this record kept even with ENABLE_AUDIT_LOGGING=false: consent
    /// changes and erasures.
    public var isRequired: Bool { Self.required.contains(action) }

    public static let communicationAccepted = "communication.accepted"
    public static let communicationCancelled = "communication.cancelled"
    public static let preferencesSaved = "preferences.saved"
    public static let clientExported = "client.exported"
    public static let clientErased = "client.erased"
    public static let retentionPurged = "retention.purged"
    public static let keyRotated = "key.rotated"
    public static let providerAuthFailed = "provider.auth_failed"
    /// Every action this version writes, for `audit.list`'s `action` filter.
    public static let actions = [
        communicationAccepted, communicationCancelled, preferencesSaved, clientExported, clientErased, retentionPurged, keyRotated,
        providerAuthFailed,
    ]
    private static let required: Set<String> = [preferencesSaved, clientErased]

    enum CodingKeys: String, CodingKey {
        case seq, at, actor, action
        case clientID = "client_id"
        case communicationID = "communication_id"
        case detail
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seq, forKey: .seq)
        try container.encode(at, forKey: .at)
        try container.encode(actor, forKey: .actor)
        try container.encode(action, forKey: .action)
        try container.encode(clientID?.canonicalString, forKey: .clientID)
        try container.encode(communicationID?.canonicalString, forKey: .communicationID)
        try container.encode(detail, forKey: .detail)
    }
}
