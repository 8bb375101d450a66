public import Foundation

/// Something the workflow should hear about: a `communication.status`, `client.opted_out` or
/// `inbound.message` notification.
///
/// Each is first a row of the store's event log, written in the same transaction as the change it
/// announces; its payload then carries the row's `seq`. A workflow hears it live on stdout, and can
/// always list it again with `events.list`.
public enum EngineEvent: Sendable, Equatable {
    case status(StatusChange)
    case optedOut(ConsentChange)
    case inbound(InboundReply)

    /// The notification's method.
    public var method: String {
        switch self {
        case .status: EngineEvent.statusMethod
        case .optedOut: EngineEvent.optedOutMethod
        case .inbound: EngineEvent.inboundMethod
        }
    }

    /// Its place in the event log; nil before it is written there.
    public var seq: Int64? {
        switch self {
        case .status(let change): change.seq
        case .optedOut(let change): change.seq
        case .inbound(let reply): reply.seq
        }
    }

    /// The communication it is about, if any.
    public var communicationID: UUID? {
        switch self {
        case .status(let change): change.communicationID
        case .optedOut: nil
        case .inbound(let reply): reply.communicationID
        }
    }

    /// The client it is about, if known.
    public var clientID: UUID? {
        switch self {
        case .status(let change): change.clientID
        case .optedOut(let change): change.clientID
        case .inbound(let reply): reply.clientID
        }
    }

    public static let statusMethod = "communication.status"
    public static let optedOutMethod = "client.opted_out"
    public static let inboundMethod = "inbound.message"
    /// Every method an event can have, for `events.list`'s `kinds`.
    public static let methods = [statusMethod, optedOutMethod, inboundMethod]
}
