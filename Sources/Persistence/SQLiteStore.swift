package import CRMModel
package import Foundation
import GRDB
package import Logging

/// The embedded default: one SQLite file in WAL mode, through GRDB.
///
/// Writes go through GRDB's single writer, so the store never races itself; readers run beside it.
/// `synchronous` stays at SQLite's FULL: an acknowledged communication survives power loss, not
/// only a crash of the process.
package final class SQLiteStore: Store {
    private let pool: DatabasePool
    private let encoder = WireJSON.makeEncoder()
    private let decoder = WireJSON.makeDecoder()

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    package init(path: String, logger: Logger) throws(StoreError) {
        var configuration = Configuration()
        // Another sidecar or a backup may hold the write lock for a moment; wait rather than fail.
        configuration.busyMode = .timeout(5)
        configuration.label = "crm-sidecar"
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StoreError(.unavailable, "cannot open SQLite database at \(path): \(Self.describe(error))")
        }
        try SQLiteMigrations.apply(to: pool, logger: logger)
    }

    package func insert(_ communication: Communication) async throws(StoreError) {
        let row = try CommunicationRow(communication, encoder: encoder)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO communications
                      (id, plan_id, client_id, message_type, urgency, status, channel_used, priority,
                       decision, recipient, context, preferred_channel, idempotency_key, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: row.arguments
            )
            for event in communication.events {
                try Self.insert(event, for: row.id, in: db)
            }
        }
    }

    package func communication(id: UUID) async throws(StoreError) -> Communication? {
        let key = id.uuidString.lowercased()
        let decoder = self.decoder
        return try await read { db -> Communication? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM communications WHERE id = ?", arguments: [key]) else {
                return nil
            }
            var communication = try CommunicationRow.communication(from: row, decoder: decoder)
            communication.attempts = try Row.fetchAll(
                db, sql: "SELECT * FROM attempts WHERE communication_id = ? ORDER BY number", arguments: [key]
            ).map(AttemptRow.attempt(from:))
            communication.events = try Row.fetchAll(
                db, sql: "SELECT * FROM status_events WHERE communication_id = ? ORDER BY at, seq", arguments: [key]
            ).map(StatusEventRow.event(from:))
            return communication
        }
    }

    package func communications(matching query: CommunicationQuery) async throws(StoreError) -> CommunicationPage {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let planID = query.planID {
            conditions.append("plan_id = ?")
            arguments += [planID.uuidString.lowercased()]
        }
        if let clientID = query.clientID {
            conditions.append("client_id = ?")
            arguments += [clientID.uuidString.lowercased()]
        }
        if let status = query.status {
            conditions.append("status = ?")
            arguments += [status.rawValue]
        }
        if let after = query.after {
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            arguments += [after.createdAtMilliseconds, after.createdAtMilliseconds, after.id]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        // One row more than asked tells whether there is a next page.
        arguments += [query.limit + 1]
        let sql = """
            SELECT id, plan_id, client_id, message_type, urgency, status, channel_used, created_at, updated_at
            FROM communications \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ?
            """
        let limit = query.limit
        return try await read { [arguments] db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let items = try rows.prefix(limit).map(CommunicationRow.summary(from:))
            let next = rows.count > limit
                ? rows.prefix(limit).last.map { PageCursor(createdAtMilliseconds: $0["created_at"], id: $0["id"]) }
                : nil
            return CommunicationPage(items: items, next: next)
        }
    }

    package func record(
        _ attempt: Attempt,
        for id: UUID,
        movingTo status: CommunicationStatus?
    ) async throws(StoreError) -> StatusChange? {
        let key = id.uuidString.lowercased()
        return try await write { db -> StatusChange? in
            try db.execute(
                sql: """
                    INSERT INTO attempts
                      (communication_id, number, channel, provider, started_at, latency_ms, outcome,
                       provider_message_id, error_category, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: AttemptRow.arguments(attempt, communicationID: key)
            )
            guard let status else { return nil }
            return try Self.move(
                key, to: status, channel: attempt.channel, attempt: attempt, detail: attempt.error,
                at: attempt.startedAt.addingTimeInterval(Double(attempt.latencyMilliseconds) / 1000), in: db
            )
        }
    }

    package func move(
        _ id: UUID,
        to status: CommunicationStatus,
        channel: Channel?,
        detail: String?,
        at: Date
    ) async throws(StoreError) -> StatusChange? {
        let key = id.uuidString.lowercased()
        return try await write { db in
            try Self.move(key, to: status, channel: channel, attempt: nil, detail: detail, at: at, in: db)
        }
    }

    package func preferences(for clientID: UUID) async throws(StoreError) -> ClientPreferences? {
        let key = clientID.uuidString.lowercased()
        let decoder = self.decoder
        return try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM client_preferences WHERE client_id = ?", arguments: [key])
                .map { try PreferencesRow.preferences(from: $0, decoder: decoder) }
        }
    }

    package func save(_ preferences: ClientPreferences) async throws(StoreError) {
        let arguments = try PreferencesRow.arguments(preferences, encoder: encoder)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO client_preferences
                      (client_id, preferred_channels, timezone, quiet_hours_start, quiet_hours_end,
                       opt_out_email, opt_out_sms, opt_out_whatsapp, language_preference, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (client_id) DO UPDATE SET
                      preferred_channels = excluded.preferred_channels, timezone = excluded.timezone,
                      quiet_hours_start = excluded.quiet_hours_start, quiet_hours_end = excluded.quiet_hours_end,
                      opt_out_email = excluded.opt_out_email, opt_out_sms = excluded.opt_out_sms,
                      opt_out_whatsapp = excluded.opt_out_whatsapp,
                      language_preference = excluded.language_preference, updated_at = excluded.updated_at
                    """,
                arguments: arguments
            )
        }
    }

    package func ping() async throws(StoreError) {
        try await read { db in _ = try Int.fetchOne(db, sql: "SELECT 1") }
    }

    // MARK: - Shared steps

    private static func move(
        _ key: String,
        to status: CommunicationStatus,
        channel: Channel?,
        attempt: Attempt?,
        detail: String?,
        at: Date,
        in db: Database
    ) throws -> StatusChange? {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT plan_id, client_id, status, channel_used FROM communications WHERE id = ?", arguments: [key]
        ) else { return nil }
        guard let current = CommunicationStatus(rawValue: row["status"]) else {
            throw StoreError(.corruptRecord, "communication \(key) has an unknown status")
        }
        guard current.canMove(to: status) else { return nil }
        // The channel that got the message through is the one the caller cares about; a later
        // receipt without a channel keeps it.
        let channelUsed = status == .sent ? channel?.rawValue : row["channel_used"] as String?
        try db.execute(
            sql: "UPDATE communications SET status = ?, channel_used = ?, updated_at = ? WHERE id = ?",
            arguments: [status.rawValue, channelUsed, at.millisecondsSince1970, key]
        )
        try insert(StatusEvent(status: status, at: at, channel: channel, detail: detail), for: key, in: db)
        return StatusChange(
            communicationID: UUID(uuidString: key)!,
            planID: UUID(uuidString: row["plan_id"])!,
            clientID: UUID(uuidString: row["client_id"])!,
            status: status,
            previousStatus: current,
            channel: channel,
            attempt: attempt?.number,
            providerMessageID: attempt?.providerMessageID,
            error: attempt?.error,
            at: at
        )
    }

    private static func insert(_ event: StatusEvent, for key: String, in db: Database) throws {
        try db.execute(
            sql: "INSERT INTO status_events (communication_id, status, channel, detail, at) VALUES (?, ?, ?, ?, ?)",
            arguments: [key, event.status.rawValue, event.channel?.rawValue, event.detail, event.at.millisecondsSince1970]
        )
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    private static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        return StoreError(.unavailable, "SQLite: \(describe(error))")
    }

    /// GRDB's description names the SQL but never its arguments (those may be personal data) unless
    /// `publicStatementArguments` is set, which this store never does.
    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return "\(error.resultCode) \(error.message ?? "")"
        }
        return String(describing: error)
    }
}
