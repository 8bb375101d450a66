import GRDB
import Synchronization

/// Runs the store's writes that arrive together in one transaction, so they share one commit.
///
/// Why: `synchronous` is FULL, so every commit waits for an fsync of the WAL, and every commit
/// appends each page it touched to the WAL whole. Under load the send path commits several times
/// per message (the insert, each attempt, each status move), mostly into the same few pages; one
/// commit for all the writes waiting at that moment divides both the fsyncs and the bytes written
/// by the number of writes in it.
///
/// What does not change: a caller returns only once the commit holding its write is durable, so
/// nothing is acknowledged before it is on disk; and writes run in the order they arrived, one
/// writer at a time, as with GRDB's own `write`. A write that finds the writer idle runs at once
/// (no waiting for company); the writes that arrive while it commits go together in the next
/// transaction.
///
/// A write's body must be database work only, with no effect outside the transaction that a
/// rollback would make wrong (`ClientKeyCache` is one it may have: every use of it is checked
/// against the stored key, so a key remembered from a rolled-back write is never used): when any
/// body in a shared transaction throws, the whole transaction is rolled back and each write is run
/// again in a transaction of its own, so the one at fault fails alone and the others are
/// unaffected. When the transaction itself cannot begin or commit (the database locked past the
/// busy timeout, a full disk), every write of it fails with that error at once.
///
/// A write once handed over is not withdrawn when its caller's task is cancelled: it is short, and
/// it runs and commits like the others, and the caller hears how it went.
final class GroupCommit: Sendable {
    /// One caller's write: `run` performs it inside the transaction and returns how to hand its
    /// value over once committed; `fail` hands over an error instead.
    private struct Job: Sendable {
        let run: @Sendable (Database) throws -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

    private struct Queue {
        var pending: [Job] = []
        /// Whether a drain is scheduled or running on the writer: it takes whatever is pending.
        var draining = false
    }

    /// The most writes in one transaction: enough to share the commit's cost, few enough that the
    /// first of them does not wait long behind the others.
    static let maxBatch = 128

    private let pool: DatabasePool
    /// Run on the writer after each transaction it commits (or tried to).
    private let afterCommit: @Sendable () -> Void
    private let queue = Mutex(Queue())

    /// How many writes wait for the writer; for tests that hold it.
    var waiting: Int { queue.withLock { $0.pending.count } }

    init(pool: DatabasePool, afterCommit: @escaping @Sendable () -> Void = {}) {
        self.pool = pool
        self.afterCommit = afterCommit
    }

    /// Runs `body` in a write transaction, maybe shared with others; returns once it is committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                run: { db in
                    let value = try body(db)
                    return { continuation.resume(returning: value) }
                },
                fail: { continuation.resume(throwing: $0) }
            )
            let startsDrain = queue.withLock { queue in
                queue.pending.append(job)
                if queue.draining { return false }
                queue.draining = true
                return true
            }
            if startsDrain {
                pool.asyncWriteWithoutTransaction { [self] db in drain(db) }
            }
        }
    }

    /// On the writer: commits what is pending, batch after batch, until nothing is.
    private func drain(_ db: Database) {
        while true {
            let batch = queue.withLock { queue -> [Job] in
                guard !queue.pending.isEmpty else {
                    queue.draining = false
                    return []
                }
                let count = min(queue.pending.count, Self.maxBatch)
                let batch = Array(queue.pending.prefix(count))
                queue.pending.removeFirst(count)
                return batch
            }
            if batch.isEmpty { return }
            commit(batch, in: db)
            afterCommit()
        }
    }

    private func commit(_ batch: [Job], in db: Database) {
        guard batch.count > 1 else {
            batch.forEach { commitAlone($0, in: db) }
            return
        }
        var handOvers: [@Sendable () -> Void] = []
        handOvers.reserveCapacity(batch.count)
        var aWriteFailed = false
        do {
            try db.inTransaction {
                for job in batch {
                    do {
                        handOvers.append(try job.run(db))
                    } catch {
                        aWriteFailed = true
                        throw error
                    }
                }
                return .commit
            }
        } catch {
            if aWriteFailed {
                // Rolled back, all of it: each goes again alone, so only the one at fault fails.
                batch.forEach { commitAlone($0, in: db) }
            } else {
                // BEGIN or COMMIT failed (the database locked past the busy timeout, a full disk):
                // every write would meet it again, one wait each; all hear of it now.
                batch.forEach { $0.fail(error) }
            }
            return
        }
        handOvers.forEach { $0() }
    }

    private func commitAlone(_ job: Job, in db: Database) {
        var handOver: (@Sendable () -> Void)?
        do {
            try db.inTransaction {
                handOver = try job.run(db)
                return .commit
            }
        } catch {
            job.fail(error)
            return
        }
        handOver?()
    }
}
