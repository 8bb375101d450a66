public import Foundation

/// One turn of a communication on a channel: a call to a provider, successful or not, or a channel
/// skipped because the client opted out of it by the time it came to send.
public struct Attempt: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Codable {
        case sent
        case failed
        /// Nothing was sent: the channel was passed over (`reason` says why).
        case skipped
    }

    /// 1-based, counted across all channels of the communication.
    public var number: Int
    public var channel: Channel
    /// The provider called; nil when the channel was skipped.
    public var provider: String?
    public var startedAt: Date
    public var latencyMilliseconds: Int
    public var outcome: Outcome
    public var providerMessageID: String?
    /// What kind of failure it was, when the attempt failed.
    public var errorCategory: FailureCategory?
    /// What went wrong, without message bodies or credentials.
    public var error: String?
    /// Why the channel was skipped (`client opted out of email`), when it was.
    public var reason: String?
    /// Template variables the message referred to that the context did not have; they rendered as
    /// empty. Nil when none were missing.
    public var missingVariables: [String]?

    public init(
        number: Int,
        channel: Channel,
        provider: String?,
        startedAt: Date,
        latencyMilliseconds: Int,
        outcome: Outcome,
        providerMessageID: String? = nil,
        errorCategory: FailureCategory? = nil,
        error: String? = nil,
        reason: String? = nil,
        missingVariables: [String]? = nil
    ) {
        self.number = number
        self.channel = channel
        self.provider = provider
        self.startedAt = startedAt
        self.latencyMilliseconds = latencyMilliseconds
        self.outcome = outcome
        self.providerMessageID = providerMessageID
        self.errorCategory = errorCategory
        self.error = error
        self.reason = reason
        self.missingVariables = missingVariables
    }

    enum CodingKeys: String, CodingKey {
        case number
        case channel
        case provider
        case startedAt = "started_at"
        case latencyMilliseconds = "latency_ms"
        case outcome
        case providerMessageID = "provider_message_id"
        case errorCategory = "error_category"
        case error
        case reason
        case missingVariables = "missing_variables"
    }
}

extension Attempt {
    /// A channel passed over at `at` for `reason`: nothing was sent, no provider was called.
    public static func skipped(number: Int, channel: Channel, at: Date, reason: String) -> Attempt {
        Attempt(number: number, channel: channel, provider: nil, startedAt: at, latencyMilliseconds: 0, outcome: .skipped, reason: reason)
    }
}
