package import CRMModel
package import Foundation
package import Logging
import PostgresNIO
import ServiceLifecycle

/// The production backend: PostgreSQL through postgres-nio's pooled `PostgresClient`, shared by any
/// number of sidecars.
///
/// The client's connection pool runs as a `Service`; every operation has a deadline, so while the
/// server is unreachable a request is answered -32001 promptly instead of waiting for the pool to
/// give up, and the pool reconnects by itself when the server is back.
package final class PostgresStore: Store, Service {
    private let client: PostgresClient
    private let logger: Logger
    private let deadline: Duration
    private let encoder = WireJSON.makeEncoder()
    private let decoder = WireJSON.makeDecoder()

    package init(configuration: PostgresConfiguration, logger: Logger, deadline: Duration = .seconds(5)) {
        self.client = PostgresClient(configuration: configuration.client, backgroundLogger: logger)
        self.logger = logger
        self.deadline = deadline
    }

    /// Runs the connection pool until the service group shuts down.
    package func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.client.run()
        }
    }

    /// Brings the schema up to date; call once `run()` is under way.
    package func migrate() async throws(StoreError) {
        try await within { try await PostgresMigrations.apply(on: self.client, logger: self.logger) }
    }

    package func insert(_ communication: Communication) async throws(StoreError) {
        let row = try CommunicationColumns(communication, encoder: encoder)
        let events = communication.events.map(StatusEventColumns.init)
        try await transaction { connection, logger in
            try await connection.query("""
                INSERT INTO communications
                  (id, plan_id, client_id, message_type, urgency, status, channel_used, priority, decision, recipient,
                   context, preferred_channel, idempotency_key, created_at, updated_at)
                VALUES (\(row.id), \(row.planID), \(row.clientID), \(row.messageType), \(row.urgency), \(row.status),
                   \(row.channelUsed), \(row.priority), \(row.decision), \(row.recipient), \(row.context),
                   \(row.preferredChannel), \(row.idempotencyKey), \(row.createdAt), \(row.updatedAt))
                """, logger: logger)
            for event in events {
                try await Self.insert(event, for: row.id, on: connection, logger: logger)
            }
        }
    }

    package func communication(id: UUID) async throws(StoreError) -> Communication? {
        let key = id.key
        let decoder = self.decoder
        return try await connection { connection, logger -> Communication? in
            guard let row = try await connection.query("SELECT * FROM communications WHERE id = \(key)", logger: logger)
                .collect().first
            else { return nil }
            var communication = try CommunicationColumns(row: row.makeRandomAccess()).communication(decoder: decoder)
            communication.attempts = try await connection.query(
                "SELECT * FROM attempts WHERE communication_id = \(key) ORDER BY number", logger: logger
            ).collect().map { try AttemptColumns(row: $0.makeRandomAccess()).attempt() }
            communication.events = try await connection.query(
                "SELECT * FROM status_events WHERE communication_id = \(key) ORDER BY at, seq", logger: logger
            ).collect().map { try StatusEventColumns(row: $0.makeRandomAccess()).event() }
            return communication
        }
    }

    package func communications(matching query: CommunicationQuery) async throws(StoreError) -> CommunicationPage {
        // Each condition is appended with its value bound, never spliced into the text.
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 256, interpolationCount: 6)
        sql.appendLiteral("""
            SELECT id, plan_id, client_id, message_type, urgency, status, channel_used, created_at, updated_at
            FROM communications WHERE true
            """)
        if let planID = query.planID {
            sql.appendLiteral(" AND plan_id = ")
            sql.appendInterpolation(planID.key)
        }
        if let clientID = query.clientID {
            sql.appendLiteral(" AND client_id = ")
            sql.appendInterpolation(clientID.key)
        }
        if let status = query.status {
            sql.appendLiteral(" AND status = ")
            sql.appendInterpolation(status.rawValue)
        }
        if let after = query.after {
            sql.appendLiteral(" AND (created_at, id) < (")
            sql.appendInterpolation(after.createdAtMilliseconds)
            sql.appendLiteral(", ")
            sql.appendInterpolation(after.id)
            sql.appendLiteral(")")
        }
        sql.appendLiteral(" ORDER BY created_at DESC, id DESC LIMIT ")
        sql.appendInterpolation(query.limit + 1)
        let limit = query.limit
        let statement = PostgresQuery(stringInterpolation: sql)
        return try await connection { connection, logger in
            let rows = try await connection.query(statement, logger: logger).collect()
            let items = try rows.prefix(limit).map { row in
                let row = row.makeRandomAccess()
                return try CommunicationColumns.summary(
                    id: row["id"].decode(String.self), planID: row["plan_id"].decode(String.self),
                    clientID: row["client_id"].decode(String.self), messageType: row["message_type"].decode(String.self),
                    urgency: row["urgency"].decode(String.self), status: row["status"].decode(String.self),
                    channelUsed: row["channel_used"].decode(String?.self), createdAt: row["created_at"].decode(Int64.self),
                    updatedAt: row["updated_at"].decode(Int64.self)
                )
            }
            let next = rows.count > limit
                ? items.last.map { PageCursor(createdAtMilliseconds: $0.createdAt.millisecondsSince1970, id: $0.id.key) }
                : nil
            return CommunicationPage(items: items, next: next)
        }
    }

    package func record(
        _ attempt: Attempt,
        for id: UUID,
        movingTo status: CommunicationStatus?
    ) async throws(StoreError) -> StatusChange? {
        let key = id.key
        let columns = AttemptColumns(attempt)
        return try await transaction { connection, logger -> StatusChange? in
            try await connection.query("""
                INSERT INTO attempts
                  (communication_id, number, channel, provider, started_at, latency_ms, outcome, provider_message_id,
                   error_category, error)
                VALUES (\(key), \(columns.number), \(columns.channel), \(columns.provider), \(columns.startedAt),
                   \(columns.latencyMilliseconds), \(columns.outcome), \(columns.providerMessageID), \(columns.errorCategory),
                   \(columns.error))
                """, logger: logger)
            guard let status else { return nil }
            return try await Self.move(
                key, to: status, channel: attempt.channel, attempt: attempt, detail: attempt.error,
                at: attempt.startedAt.addingTimeInterval(Double(attempt.latencyMilliseconds) / 1000),
                on: connection, logger: logger
            )
        }
    }

    package func move(
        _ id: UUID,
        to status: CommunicationStatus,
        channel: CRMModel.Channel?,
        detail: String?,
        at: Date
    ) async throws(StoreError) -> StatusChange? {
        let key = id.key
        return try await transaction { connection, logger in
            try await Self.move(key, to: status, channel: channel, attempt: nil, detail: detail, at: at, on: connection, logger: logger)
        }
    }

    package func preferences(for clientID: UUID) async throws(StoreError) -> ClientPreferences? {
        let key = clientID.key
        let decoder = self.decoder
        return try await connection { connection, logger in
            try await connection.query("SELECT * FROM client_preferences WHERE client_id = \(key)", logger: logger)
                .collect().first.map { try PreferencesColumns(row: $0.makeRandomAccess()).preferences(decoder: decoder) }
        }
    }

    package func save(_ preferences: ClientPreferences) async throws(StoreError) {
        let row = try PreferencesColumns(preferences, encoder: encoder)
        _ = try await connection { connection, logger in
            try await connection.query("""
                INSERT INTO client_preferences
                  (client_id, preferred_channels, timezone, quiet_hours_start, quiet_hours_end, opt_out_email,
                   opt_out_sms, opt_out_whatsapp, language_preference, updated_at)
                VALUES (\(row.clientID), \(row.preferredChannels), \(row.timezone), \(row.quietHoursStart),
                   \(row.quietHoursEnd), \(row.optOutEmail), \(row.optOutSMS), \(row.optOutWhatsApp),
                   \(row.languagePreference), \(row.updatedAt))
                ON CONFLICT (client_id) DO UPDATE SET
                  preferred_channels = excluded.preferred_channels, timezone = excluded.timezone,
                  quiet_hours_start = excluded.quiet_hours_start, quiet_hours_end = excluded.quiet_hours_end,
                  opt_out_email = excluded.opt_out_email, opt_out_sms = excluded.opt_out_sms,
                  opt_out_whatsapp = excluded.opt_out_whatsapp,
                  language_preference = excluded.language_preference, updated_at = excluded.updated_at
                """, logger: logger)
        }
    }

    package func ping() async throws(StoreError) {
        _ = try await connection { connection, logger in
            try await connection.query("SELECT 1", logger: logger).collect().count
        }
    }

    // MARK: - Shared steps

    private static func move(
        _ key: String,
        to status: CommunicationStatus,
        channel: CRMModel.Channel?,
        attempt: Attempt?,
        detail: String?,
        at: Date,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> StatusChange? {
        // FOR UPDATE: two receipts for one message (or two sidecars) must not both move it.
        guard let row = try await connection.query(
            "SELECT plan_id, client_id, status, channel_used FROM communications WHERE id = \(key) FOR UPDATE", logger: logger
        ).collect().first?.makeRandomAccess() else { return nil }
        guard let move = try StatusMove.plan(
            id: key, planID: row["plan_id"].decode(String.self), clientID: row["client_id"].decode(String.self),
            current: row["status"].decode(String.self), channelUsed: row["channel_used"].decode(String?.self),
            to: status, channel: channel, attempt: attempt, detail: detail, at: at
        ) else { return nil }
        let millis = at.millisecondsSince1970
        try await connection.query(
            "UPDATE communications SET status = \(status.rawValue), channel_used = \(move.channelUsed), updated_at = \(millis) WHERE id = \(key)",
            logger: logger
        )
        try await insert(StatusEventColumns(StatusEvent(status: status, at: at, channel: channel, detail: detail)), for: key, on: connection, logger: logger)
        return move.change
    }

    private static func insert(_ event: StatusEventColumns, for key: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "INSERT INTO status_events (communication_id, status, channel, detail, at) VALUES (\(key), \(event.status), \(event.channel), \(event.detail), \(event.at))",
            logger: logger
        )
    }

    private func connection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws(StoreError) -> T {
        let logger = self.logger
        return try await within { try await self.client.withConnection { try await body($0, logger) } }
    }

    private func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws(StoreError) -> T {
        let logger = self.logger
        return try await within { try await self.client.withTransaction(logger: logger) { try await body($0, logger) } }
    }

    /// Runs `body`, or gives up after the deadline with `.unavailable`.
    private func within<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws(StoreError) -> T {
        let deadline = self.deadline
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw StoreError(.unavailable, "PostgreSQL did not answer within \(deadline)")
                }
                return value
            }
        } catch let error as StoreError {
            throw error
        } catch let error as PSQLError {
            throw StoreError(.unavailable, "PostgreSQL: \(Self.describe(error))")
        } catch {
            throw StoreError(.unavailable, "PostgreSQL: \(error)")
        }
    }

    /// The error's code and the server's own message; never the query or its binds.
    static func describe(_ error: PSQLError) -> String {
        var text = "\(error.code)"
        if let state = error.serverInfo?[.sqlState] { text += " (SQLSTATE \(state))" }
        if let message = error.serverInfo?[.message] { text += ": \(message)" }
        return text
    }
}
