public import Foundation

/// One step of a communication's timeline.
public struct StatusEvent: Sendable, Equatable, Codable {
    public var status: CommunicationStatus
    public var at: Date
    public var channel: Channel?
    /// Why, in a few words (no message bodies).
    public var detail: String?

    public init(status: CommunicationStatus, at: Date, channel: Channel? = nil, detail: String? = nil) {
        self.status = status
        self.at = at
        self.channel = channel
        self.detail = detail
    }
}
