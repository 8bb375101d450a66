public import Foundation

/// Which events of the log to list (`events.list`).
public struct EventQuery: Sendable, Equatable {
    /// Events after this `seq`; 0 for the first.
    public var after: Int64
    public var limit: Int
    /// Only these methods; nil for all.
    public var kinds: Set<String>?
    public var communicationID: UUID?
    public var clientID: UUID?

    public init(after: Int64 = 0, limit: Int = 100, kinds: Set<String>? = nil, communicationID: UUID? = nil, clientID: UUID? = nil) {
        self.after = after
        self.limit = limit
        self.kinds = kinds
        self.communicationID = communicationID
        self.clientID = clientID
    }
}
