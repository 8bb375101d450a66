public import Foundation

/// One call to a provider for a communication, successful or not.
public struct Attempt: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Codable {
        case sent
        case failed
    }

    /// 1-based, counted across all channels of the communication.
    public var number: Int
    public var channel: Channel
    public var provider: String
    public var startedAt: Date
    public var latencyMilliseconds: Int
    public var outcome: Outcome
    public var providerMessageID: String?
    /// transient, rate_limited, permanent, invalid_recipient or auth, when the attempt failed.
    public var errorCategory: String?
    /// What went wrong, without message bodies or credentials.
    public var error: String?
    /// Template variables the message referred to that the context did not have; they rendered as
    /// empty. Nil when none were missing.
    public var missingVariables: [String]?

    public init(
        number: Int,
        channel: Channel,
        provider: String,
        startedAt: Date,
        latencyMilliseconds: Int,
        outcome: Outcome,
        providerMessageID: String? = nil,
        errorCategory: String? = nil,
        error: String? = nil,
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
        case missingVariables = "missing_variables"
    }
}
