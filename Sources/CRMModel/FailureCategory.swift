/// What kind of failure a provider's refusal was, which decides what happens next. The policy's
/// error table (`ErrorClasses`) assigns it from the provider's code and status; nothing compares it
/// as a string.
public enum FailureCategory: String, Codable, Sendable, CaseIterable, Hashable, WireEnum {
    /// Worth retrying on the same channel after a backoff.
    case transient
    /// The provider asked to slow down; wait (for its Retry-After when given) without using up an attempt.
    case rateLimited = "rate_limited"
    /// Retrying will not help on this channel: move to the next.
    case permanent
    /// The address is wrong or unreachable on this channel: move to the next.
    case invalidRecipient = "invalid_recipient"
    /// Our credentials were refused: the provider is unhealthy until an operator acts.
    case auth

    public init(from decoder: any Decoder) throws {
        self = try Self.decode(from: decoder)
    }

    /// Whether the address, not the provider, is the problem: no provider of the channel is tried again.
    public var givesUpChannel: Bool { self == .permanent || self == .invalidRecipient }
}
