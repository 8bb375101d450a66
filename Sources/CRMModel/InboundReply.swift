public import Foundation

/// A client's message to us, with what it seems to mean: what the `inbound.message` notification
/// carries.
public struct InboundReply: Sendable, Equatable, Codable {
    /// Nil when no known client uses the sender's number.
    public var clientID: UUID?
    /// The client's latest communication on that channel, which the reply most likely answers.
    public var communicationID: UUID?
    public var channel: Channel
    public var from: String
    public var text: String
    /// `confirmation`, `rejection`, `help`, `selection` or `unknown`.
    public var intent: String
    /// What was chosen, with intent `selection`.
    public var selection: Selection?
    public var at: Date
    /// Its place in the store's event log, once written there.
    public var seq: Int64? = nil

    public init(
        clientID: UUID?, communicationID: UUID?, channel: Channel, from: String, text: String, intent: String,
        selection: Selection?, at: Date
    ) {
        self.clientID = clientID
        self.communicationID = communicationID
        self.channel = channel
        self.from = from
        self.text = text
        self.intent = intent
        self.selection = selection
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id"
        case communicationID = "communication_id"
        case channel, from, text, intent, selection, at, seq
    }
}
