public import Foundation

/// A client opted out of a channel (or back in): what the `client.opted_out` notification carries.
public struct ConsentChange: Sendable, Equatable, Codable {
    public var clientID: UUID
    public var channel: Channel
    /// What said so: `sms_keyword`, `whatsapp_keyword`, `email_unsubscribe`.
    public var source: String
    public var at: Date
    /// Its place in the store's event log, once written there.
    public var seq: Int64? = nil

    public init(clientID: UUID, channel: Channel, source: String, at: Date) {
        self.clientID = clientID
        self.channel = channel
        self.source = source
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id"
        case channel, source, at, seq
    }
}
