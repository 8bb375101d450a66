import CRMModel
import Foundation
import GRDB

/// How an attempt maps to an `attempts` row and back.
enum AttemptRow {
    static func arguments(_ attempt: Attempt, communicationID: String) -> StatementArguments {
        [
            communicationID,
            attempt.number,
            attempt.channel.rawValue,
            attempt.provider,
            attempt.startedAt.millisecondsSince1970,
            attempt.latencyMilliseconds,
            attempt.outcome.rawValue,
            attempt.providerMessageID,
            attempt.errorCategory,
            attempt.error,
        ]
    }

    static func attempt(from row: Row) throws -> Attempt {
        guard let channel = Channel(rawValue: row["channel"]), let outcome = Attempt.Outcome(rawValue: row["outcome"]) else {
            throw StoreError(.corruptRecord, "an attempt has a field this version cannot read")
        }
        return Attempt(
            number: row["number"],
            channel: channel,
            provider: row["provider"],
            startedAt: Date(millisecondsSince1970: row["started_at"]),
            latencyMilliseconds: row["latency_ms"],
            outcome: outcome,
            providerMessageID: row["provider_message_id"],
            errorCategory: row["error_category"],
            error: row["error"]
        )
    }
}
