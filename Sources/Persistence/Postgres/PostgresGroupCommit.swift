import Logging
import PostgresNIO
import Synchronization

/// Runs the writes of the send path that arrive together (accepts, attempts, status moves) in one
/// transaction, so they share its statements: one BEGIN, one statement with all their writes and
/// events, one COMMIT, and one hold of the event counter.
///
/// Why: on a CPU-bound server each statement costs its parse, plan and round trip, and every
/// event-writing transaction waits its turn for the counter; one transaction per write made that
/// four to five statements and one turn per write. Here a batch first reads what its writes name
/// (`read`: the communications they move, locked, and their clients' keys, made when missing) in
/// one statement a table; each write then stages (reading more only when it must: an idempotency
/// key's claim), and its writes and its event join the one statement that ends the batch.
///
/// What does not change: a caller returns only once the commit holding its write is durable, and
/// every write is still one all-or-nothing unit:
/// - A write whose staging or statement fails makes the whole batch roll back; the others then run
///   again one at a time, so the one at fault fails alone.
/// - A caller that gave up (answered -32001, "nothing was stored") before the batch's answer came
///   has the batch rolled back, and the others run again as a batch without it. Its own work is
///   never committed. (Gave up while COMMIT is on its way, it is committed, as it was before
///   batches: the event loop decides when the statement's answer arrives.)
/// - When the server cannot be reached, or does not answer within the deadline, every write of the
///   batch hears so.
///
/// Two writes about the same thing (one communication, one client's key and contacts, one
/// idempotency key) never share a batch, nor go in two batches at once: the second waits for the
/// first's commit, so it stages against what the first wrote, and a sidecar's two batches wait for
/// each other only at the event counter, never on each other's rows. Writes are taken in the order
/// they arrived, except that one waiting for a key passes over to those behind it that need none
/// of its keys. A batch stages its writes in key order, so that two sidecars' batches claim the
/// same idempotency keys and add the same contacts in one order, and do not deadlock.
///
/// What is weaker than one transaction a write: a write that waits for a lock held elsewhere (an
/// erasure, a key rotation, another sidecar's claim of the same idempotency key) holds up the rest
/// of its batch while it waits, up to the deadline.
final class PostgresGroupCommit<Context: Sendable>: Sendable {
    /// One write's part of a batch, on the batch's connection inside its transaction, given what the
    /// batch read for all its writes: its own reads, its writes added to the statement (under the
    /// scope it is given), and its events appended. What it returns hands its value over once the
    /// batch has committed, given its events' seqs.
    ///
    /// It may run more than once (alone, after its batch failed), so it must have no effect outside
    /// the transaction.
    typealias Stage<T> = @Sendable (
        PostgresConnection, Logger, Context, inout PostgresStatement, inout [EventColumns]
    ) async throws -> @Sendable ([Int64]) -> T

    /// Reads, at the start of a batch's transaction, what the keys of all its writes name.
    typealias Read = @Sendable ([PostgresWriteKey], PostgresConnection, Logger) async throws -> Context

    /// Ends a transaction: the statement with every staged write and the events' log, and COMMIT,
    /// unless `abandoned` by then; the events' seqs, in order.
    typealias Commit = @Sendable (
        PostgresStatement, [EventColumns], PostgresConnection, Logger, _ abandoned: @escaping @Sendable () -> Bool
    ) async throws -> [Int64]

    private final class Job: Sendable {
        let keys: [PostgresWriteKey]
        /// Where it goes in its batch's staging order: its least key.
        let order: PostgresWriteKey?
        /// Whether it goes in a batch of its own (a large write).
        let alone: Bool
        let stage: Stage<Void>
        let fail: @Sendable (any Error) -> Void
        private let gaveUp = Mutex(false)

        init(keys: [PostgresWriteKey], alone: Bool, stage: @escaping Stage<Void>, fail: @escaping @Sendable (any Error) -> Void) {
            (self.keys, self.order, self.alone, self.stage, self.fail) = (keys, keys.min(), alone, stage, fail)
        }

        /// Whether its caller stopped waiting (its deadline passed): it must not be committed.
        var abandoned: Bool { gaveUp.withLock { $0 } }

        func abandon() { gaveUp.withLock { $0 = true } }
    }

    private struct Queue {
        var pending: [Job] = []
        /// How many drains are under way; each takes what is pending, a batch at a time.
        var drains = 0
        /// The keys of the batches being committed: a write that shares one waits for the next.
        var committing = Set<PostgresWriteKey>()
    }

    /// How many batches may be under way at once: while one waits for its commit (the server's
    /// fsync, the event counter), the next one's reads go ahead. More would only queue at the
    /// counter.
    static var maxDrains: Int { 2 }

    /// The most writes in one batch: enough to share the statements' cost, few enough that the
    /// statement stays small (about 60 binds a write, of PostgreSQL's 65,535) and the first write
    /// does not wait long behind the others.
    static var maxBatch: Int { 64 }

    private let client: PostgresClient
    private let logger: Logger
    private let deadline: Duration
    private let read: Read
    private let end: Commit
    private let queue = Mutex(Queue())
    private let callers = Atomic(0)

    /// How many callers wait for their write; for tests that hold the event counter.
    var unfinished: Int { callers.load(ordering: .relaxed) }

    init(client: PostgresClient, logger: Logger, deadline: Duration, read: @escaping Read, commit: @escaping Commit) {
        (self.client, self.logger, self.deadline, self.read, self.end) = (client, logger, deadline, read, commit)
    }

    /// Runs `stage` in a transaction, maybe shared with other writes; its value once committed.
    /// `keys` name what it reads and writes that another write might too. `alone`: in a batch of
    /// its own, for a write too large to share a statement (attachments).
    ///
    /// Cancelled (its caller's deadline passed), its write is not committed: not yet started, it
    /// never will be; in a batch, the batch rolls back unless it has committed already. It answers
    /// `CancellationError` once the drain comes to it, which its caller (`BoundedWait`) no longer
    /// waits for.
    func write<T: Sendable>(keys: [PostgresWriteKey], alone: Bool = false, _ stage: @escaping Stage<T>) async throws -> T {
        let handle = Mutex<Job?>(nil)
        callers.add(1, ordering: .relaxed)
        defer { callers.subtract(1, ordering: .relaxed) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let job = Job(
                    keys: keys, alone: alone,
                    stage: { connection, logger, context, writes, events in
                        let finish = try await stage(connection, logger, context, &writes, &events)
                        return { seqs in continuation.resume(returning: finish(seqs)) }
                    },
                    fail: { continuation.resume(throwing: $0) }
                )
                handle.withLock { $0 = job }
                if Task.isCancelled { job.abandon() }
                let startsDrain = queue.withLock { queue in
                    queue.pending.append(job)
                    if queue.drains == Self.maxDrains { return false }
                    queue.drains += 1
                    return true
                }
                // Detached: the drain serves every caller, and inherits none's task-locals or priority.
                if startsDrain { Task.detached { await self.drain() } }
            }
        } onCancel: {
            handle.withLock { $0?.abandon() }
        }
    }

    /// Commits what is pending, batch after batch, until nothing is that it may take.
    private func drain() async {
        var batch: [Job] = []
        while true {
            batch = next(after: batch)
            if batch.isEmpty { return }
            await commit(batch)
        }
    }

    /// The next batch, once `previous` is done: the writes pending, in order, but for those that
    /// share a key with a batch being committed (or with a write passed over for that); empty (and
    /// the drain ends) when there is none. Writes given up on are answered here and dropped.
    private func next(after previous: [Job]) -> [Job] {
        let (batch, dropped) = queue.withLock { queue -> ([Job], [Job]) in
            for job in previous { queue.committing.subtract(job.keys) }
            var (batch, dropped, left): ([Job], [Job], [Job]) = ([], [], [])
            // The keys of writes passed over: one behind them with the same key waits too.
            var waiting = Set<PostgresWriteKey>()
            for job in queue.pending {
                let full = batch.count == Self.maxBatch || batch.first?.alone == true || (job.alone && !batch.isEmpty)
                if full || job.keys.contains(where: { queue.committing.contains($0) || waiting.contains($0) }) {
                    waiting.formUnion(job.keys)
                    left.append(job)
                } else if job.abandoned {
                    dropped.append(job)
                } else {
                    batch.append(job)
                    queue.committing.formUnion(job.keys)
                }
            }
            queue.pending = left
            // Nothing it may take: what is left waits for a batch it shares a key with, whose
            // drain takes it next.
            if batch.isEmpty { queue.drains -= 1 }
            return (batch, dropped)
        }
        for job in dropped { job.fail(CancellationError()) }
        return batch
    }

    private func commit(_ batch: [Job]) async {
        guard batch.count > 1 else {
            for job in batch { await commitAlone(job) }
            return
        }
        do {
            try await run(batch)
        } catch where Self.isOneWritesFault(error) {
            // Rolled back, all of it. One given up on is not committed. When that was all, the rest
            // go again together; otherwise each goes again alone, so only the one at fault fails.
            let rest = batch.filter { !$0.abandoned }
            for job in batch where job.abandoned { job.fail(CancellationError()) }
            if error is CancellationError, rest.count < batch.count {
                await commit(rest)
            } else {
                for job in rest { await commitAlone(job) }
            }
        } catch {
            // The server is unreachable or did not answer: every write would meet it again, one
            // deadline each; all hear of it now.
            for job in batch { job.fail((error as? Unanswered)?.storeError ?? error) }
        }
    }

    private func commitAlone(_ job: Job) async {
        do {
            try await run([job])
        } catch {
            job.fail((error as? Unanswered)?.storeError ?? error)
        }
    }

    /// Stages every write of `batch` in one transaction, commits it with their events, and hands
    /// each write its value.
    private func run(_ batch: [Job]) async throws {
        let (client, logger, read, end) = (self.client, self.logger, self.read, self.end)
        // In key order (see the type's comment); nil (a write with no key) first.
        let staged = batch.sorted { first, second in
            switch (first.order, second.order) {
            case let (first?, second?): first < second
            case (nil, .some): true
            default: false
            }
        }
        let handOvers = try await BoundedWait.run(atMost: deadline) {
            try await client.withConnection { connection in
                // Timed out already (see `BoundedWait`): the writes were answered; do nothing.
                try Task.checkCancellation()
                return try await PostgresTransaction.run(on: connection, logger: logger) { connection, logger in
                    let context = try await read(batch.flatMap(\.keys), connection, logger)
                    var writes = PostgresStatement(capacity: 2048 * batch.count)
                    var events: [EventColumns] = []
                    var finishes: [(finish: @Sendable ([Int64]) -> Void, events: Range<Int>)] = []
                    for (index, job) in staged.enumerated() {
                        try Task.checkCancellation()
                        writes.scope = batch.count > 1 ? "w\(index)_" : ""
                        let first = events.count
                        let finish = try await job.stage(connection, logger, context, &writes, &events)
                        finishes.append((finish, first..<events.count))
                    }
                    writes.scope = ""
                    let seqs = try await end(writes, events, connection, logger) { batch.contains { $0.abandoned } }
                    return finishes.map { finish, range -> @Sendable () -> Void in { finish(Array(seqs[range])) } }
                }
            }
        }
        guard let handOvers else { throw Unanswered(deadline: deadline) }
        for handOver in handOvers { handOver() }
    }

    /// The server did not answer a batch within the deadline; no write of it is one at fault.
    private struct Unanswered: Error {
        let deadline: Duration
        var storeError: StoreError { StoreError(.unavailable, "PostgreSQL did not answer within \(deadline)") }
    }

    /// Whether `error` is one write's own (the server refused a statement, the write's staging
    /// threw, a write was given up on) rather than the server's or the connection's.
    private static func isOneWritesFault(_ error: any Error) -> Bool {
        switch error {
        case is Unanswered: return false
        // Without SQLSTATE: the connection's, not the server's answer to a statement; but for a
        // statement with more binds than the protocol allows, which one write can cause.
        case let error as PSQLError: return error.serverInfo?[.sqlState] != nil || error.code == .tooManyParameters
        case let error as PostgresTransactionError: return error.closureError.map(isOneWritesFault) ?? false
        default: return true
        }
    }
}
