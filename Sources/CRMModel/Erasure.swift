public import Foundation

/// What `clients.forget` did (or, repeated with nothing new to erase, the last erasure's time and zero counts).
public struct Erasure: Sendable, Equatable, Encodable {
    public var clientID: UUID
    public var erasedAt: Date
    /// Communications whose personal data became unreadable.
    public var erasedCommunications: Int
    /// Communications not yet sent, cancelled instead.
    public var cancelledCommunications: Int
    /// Copies of the client's messages removed from the outbox folder.
    public var filesRemoved: Int

    public init(clientID: UUID, erasedAt: Date, erasedCommunications: Int, cancelledCommunications: Int, filesRemoved: Int = 0) {
        self.clientID = clientID
        self.erasedAt = erasedAt
        self.erasedCommunications = erasedCommunications
        self.cancelledCommunications = cancelledCommunications
        self.filesRemoved = filesRemoved
    }

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id"
        case erasedAt = "erased_at"
        case erasedCommunications = "erased_communications"
        case cancelledCommunications = "cancelled_communications"
        case filesRemoved = "files_removed"
    }
}
