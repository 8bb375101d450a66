import CRMModel
import Foundation

/// An attempt as the values of its `attempts` row.
struct AttemptColumns: Sendable {
    var number: Int
    var channel: String
    var provider: String
    var startedAt: Int64
    var latencyMilliseconds: Int
    var outcome: String
    var providerMessageID: String?
    var errorCategory: String?
    var error: String?
    /// A JSON array of names, or nil.
    var missingVariables: String?

    init(
        number: Int, channel: String, provider: String, startedAt: Int64, latencyMilliseconds: Int, outcome: String,
        providerMessageID: String?, errorCategory: String?, error: String?, missingVariables: String?
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

    init(_ attempt: Attempt) {
        self.init(
            number: attempt.number, channel: attempt.channel.rawValue, provider: attempt.provider,
            startedAt: attempt.startedAt.millisecondsSince1970, latencyMilliseconds: attempt.latencyMilliseconds,
            outcome: attempt.outcome.rawValue, providerMessageID: attempt.providerMessageID,
            errorCategory: attempt.errorCategory, error: attempt.error,
            missingVariables: attempt.missingVariables.flatMap { names in
                (try? JSONEncoder().encode(names)).map { String(decoding: $0, as: UTF8.self) }
            }
        )
    }

    func attempt() throws(StoreError) -> Attempt {
        guard let channel = Channel(rawValue: channel), let outcome = Attempt.Outcome(rawValue: outcome) else {
            throw StoreError(.corruptRecord, "an attempt has a field this version cannot read")
        }
        return Attempt(
            number: number, channel: channel, provider: provider, startedAt: Date(millisecondsSince1970: startedAt),
            latencyMilliseconds: latencyMilliseconds, outcome: outcome, providerMessageID: providerMessageID,
            errorCategory: errorCategory, error: error,
            missingVariables: missingVariables.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }
        )
    }
}
