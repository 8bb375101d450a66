/// Where a communication is in its life.
///
/// Statuses only move forward: providers deliver receipts late, twice and out of order, and a late
/// `sent` must never overwrite `delivered`. `rank` orders the progressing statuses; the terminal ones
/// end the life of a communication.
public enum CommunicationStatus: String, Codable, Sendable, CaseIterable, Hashable, WireEnum {
    case pending
    case scheduled
    case queued
    case sent
    case delivered
    case opened
    case clicked
    case failed
    case bounced
    case cancelled

    public init(from decoder: any Decoder) throws {
        self = try Self.decode(from: decoder)
    }

    /// Position on the forward path; terminal statuses rank above every progressing one.
    var rank: Int {
        switch self {
        case .pending: 0
        case .scheduled: 1
        case .queued: 2
        case .sent: 3
        case .delivered: 4
        case .opened: 5
        case .clicked: 6
        case .failed, .bounced, .cancelled: 7
        }
    }

    /// Failed, bounced and cancelled communications never change again.
    public var isTerminal: Bool { rank == 7 }

    /// Whether the provider has accepted the message (so it can no longer be cancelled).
    public var hasBeenSent: Bool { rank >= CommunicationStatus.sent.rank && self != .cancelled }

    /// Whether the send loop still has work to do: nothing has been sent and it has not ended.
    public var awaitsSending: Bool { rank < CommunicationStatus.sent.rank }

    /// Whether moving from `self` to `next` goes forward.
    ///
    /// A bounce may follow `sent` or `delivered` (a mailbox can reject after accepting).
    public func canMove(to next: CommunicationStatus) -> Bool {
        if isTerminal { return false }
        if next == .bounced || next == .failed { return true }
        if next == .cancelled { return !hasBeenSent }
        return next.rank > rank
    }
}
