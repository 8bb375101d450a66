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

    /// A skipped attempt has no provider (stored as the empty string: the column predates skips) and
    /// keeps its reason where a failure keeps its error.
    init(_ attempt: Attempt) {
        self.init(
            number: attempt.number, channel: attempt.channel.rawValue, provider: attempt.provider ?? "",
            startedAt: attempt.startedAt.millisecondsSince1970, latencyMilliseconds: attempt.latencyMilliseconds,
            outcome: attempt.outcome.rawValue, providerMessageID: attempt.providerMessageID,
            errorCategory: attempt.errorCategory?.rawValue, error: attempt.outcome == .skipped ? attempt.reason : attempt.error,
            missingVariables: attempt.missingVariables.flatMap { names in
                (try? JSONEncoder().encode(names)).map { String(decoding: $0, as: UTF8.self) }
            }
        )
    }

    func attempt() throws(StoreError) -> Attempt {
        guard let channel = Channel(rawValue: channel), let outcome = Attempt.Outcome(rawValue: outcome) else {
            throw StoreError(.corruptRecord, "an attempt has a field this version cannot read")
        }
        var category: FailureCategory?
        if let errorCategory {
            guard let known = FailureCategory(rawValue: errorCategory) else {
                throw StoreError(.corruptRecord, "an attempt has an error category this version cannot read")
            }
            category = known
        }
        let skipped = outcome == .skipped
        return Attempt(
            number: number, channel: channel, provider: provider.isEmpty ? nil : provider, startedAt: Date(millisecondsSince1970: startedAt),
            latencyMilliseconds: latencyMilliseconds, outcome: outcome, providerMessageID: providerMessageID,
            errorCategory: category, error: skipped ? nil : error, reason: skipped ? error : nil,
            missingVariables: missingVariables.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }
        )
    }
}
