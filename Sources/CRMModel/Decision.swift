public import Foundation

/// What the strategy decided for a communication, and why, in words a person can check.
public struct Decision: Sendable, Equatable, Codable {
    /// Channels to try, first to last; opted-out channels and channels without an address are absent.
    public var channels: [Channel]
    public var sendAt: Date
    /// 1 (lowest) to 10 (highest).
    public var priority: Int
    public var reasons: [String]
    /// The language the templates are rendered in: the client's preference when the communication
    /// was decided (nil, from records older than this field: English).
    public var language: String?

    public init(channels: [Channel], sendAt: Date, priority: Int, reasons: [String], language: String? = nil) {
        self.channels = channels
        self.sendAt = sendAt
        self.priority = priority
        self.reasons = reasons
        self.language = language
    }

    enum CodingKeys: String, CodingKey {
        case channels
        case sendAt = "send_at"
        case priority
        case reasons
        case language
    }
}
