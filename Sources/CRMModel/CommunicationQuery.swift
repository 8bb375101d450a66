public import Foundation

/// Which communications to list.
public struct CommunicationQuery: Sendable, Equatable {
    public var planID: UUID?
    public var clientID: UUID?
    public var status: CommunicationStatus?
    public var limit: Int
    /// Where the previous page ended.
    public var after: PageCursor?

    public init(
        planID: UUID? = nil,
        clientID: UUID? = nil,
        status: CommunicationStatus? = nil,
        limit: Int = 50,
        after: PageCursor? = nil
    ) {
        self.planID = planID
        self.clientID = clientID
        self.status = status
        self.limit = limit
        self.after = after
    }
}
