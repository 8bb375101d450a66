public import Foundation

/// Which audit entries to list (`audit.list`), oldest first.
public struct AuditQuery: Sendable, Equatable {
    public var clientID: UUID?
    public var action: String?
    /// Entries at or after this time.
    public var since: Date?
    /// Entries before this time.
    public var until: Date?
    /// Entries after this seq (where the previous page ended).
    public var after: Int64?
    public var limit: Int

    public init(clientID: UUID? = nil, action: String? = nil, since: Date? = nil, until: Date? = nil, after: Int64? = nil, limit: Int = 100) {
        self.clientID = clientID
        self.action = action
        self.since = since
        self.until = until
        self.after = after
        self.limit = limit
    }
}
