import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// A transaction on one pooled connection whose last statement can carry its COMMIT with it.
///
/// Why not `PostgresClient.withTransaction`: an event-writing transaction takes the event counter's
/// row lock in its last statement and holds it until COMMIT, and every other event-writing
/// transaction, in every sidecar, waits for it. With `withTransaction` the COMMIT goes out only
/// once this task has been scheduled again after the statement's answer, which on a busy machine is
/// milliseconds, and two sidecars writing flat out queued for seconds behind each other.
/// `commit(after:)` has NIO send the COMMIT from the event loop the moment the answer is in.
final class PostgresTransaction: Sendable {
    /// The transaction `run` has open on this task.
    @TaskLocal static var current: PostgresTransaction?

    /// Whether COMMIT or ROLLBACK has gone out (or the server ended the transaction itself).
    private let ended = Mutex(false)

    private init() {}

    /// Runs `body` between BEGIN and COMMIT on `connection`; ROLLBACK when it throws.
    static func run<T: Sendable>(
        on connection: PostgresConnection, logger: Logger, _ body: (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        let transaction = PostgresTransaction()
        try await connection.query("BEGIN", logger: logger)
        do {
            let value = try await $current.withValue(transaction) { try await body(connection, logger) }
            // Committed with its last statement: it happened, whatever the deadline says now.
            if transaction.hasEnded { return value }
            // Abandoned at the deadline (the caller was answered -32001): roll back rather than
            // commit what was written meanwhile.
            try Task.checkCancellation()
            let commit: EventLoopFuture<PostgresQueryResult> = connection.query("COMMIT", logger: logger)
            try committed(try await commit.get())
            return value
        } catch {
            if !transaction.hasEnded { _ = try? await connection.query("ROLLBACK", logger: logger) }
            throw error
        }
    }

    /// Runs `statement` as the open transaction's last and commits it, with no wait in between
    /// for this task; the statement's rows. Abandoned before the answer came (this task cancelled,
    /// or `abandoned` true by then), it rolls back instead and throws `CancellationError`; with
    /// other than `expectingRows` rows, it rolls back and throws `StoreError`: the check must come
    /// before the commit, since after it the caller could no longer say "nothing was stored".
    static func commit(
        after statement: PostgresQuery, on connection: PostgresConnection, logger: Logger, expectingRows: Int? = nil,
        abandonedIf abandonedElsewhere: @escaping @Sendable () -> Bool = { false }
    ) async throws -> [PostgresRow] {
        guard let transaction = current, !transaction.hasEnded else {
            throw StoreError(.unavailable, "a statement meant to end a transaction ran outside one; nothing was stored")
        }
        // Abandoned already: do not take the event counter's lock only to give it back.
        try Task.checkCancellation()
        if abandonedElsewhere() { throw CancellationError() }
        let abandoned = Mutex(false)
        return try await withTaskCancellationHandler {
            try await connection.query(statement, logger: logger).flatMap { result -> EventLoopFuture<[PostgresRow]> in
                // On the event loop, as soon as the statement's answer is in.
                transaction.ended.withLock { $0 = true }
                if abandoned.withLock({ $0 }) || abandonedElsewhere() {
                    return connection.query("ROLLBACK", logger: logger).flatMapThrowing { _ in throw CancellationError() }
                }
                if let expectingRows, result.rows.count != expectingRows {
                    return connection.query("ROLLBACK", logger: logger).flatMapThrowing { _ in
                        throw StoreError(.unavailable, "PostgreSQL wrote no event: the event_counter row is missing; nothing was stored")
                    }
                }
                return connection.query("COMMIT", logger: logger).flatMapThrowing { commit in
                    try committed(commit)
                    return result.rows
                }
            }.get()
        } onCancel: {
            abandoned.withLock { $0 = true }
        }
    }

    private var hasEnded: Bool { ended.withLock { $0 } }

    /// Throws unless `commit` committed. PostgreSQL answers COMMIT in a transaction that a failed
    /// statement aborted with ROLLBACK, not an error; were that failure missed (a statement whose
    /// rows nobody read to the end), its writes would be lost while the caller was told "stored".
    private static func committed(_ commit: PostgresQueryResult) throws {
        guard commit.metadata.command == "COMMIT" else {
            throw StoreError(.unavailable, "PostgreSQL rolled the transaction back at its commit; nothing was stored")
        }
    }
}
