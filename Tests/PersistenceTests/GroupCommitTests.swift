import Foundation
import GRDB
import Synchronization
import Testing

@testable import Persistence

@Suite("Writes arriving together share one commit")
struct GroupCommitTests {
    /// Counts the commits and rollbacks of the database it watches.
    final class Commits: TransactionObserver, Sendable {
        let counts = Mutex((commits: 0, rollbacks: 0))
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { counts.withLock { $0.commits += 1 } }
        func databaseDidRollback(_ db: Database) { counts.withLock { $0.rollbacks += 1 } }
    }

    /// How many times the write bodies ran.
    final class Runs: Sendable {
        let count = Mutex(0)
    }

    struct Refused: Error {}

    private static func database() throws -> (DatabasePool, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("group-commit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pool = try DatabasePool(path: folder.appendingPathComponent("test.sqlite").path)
        try pool.write { try $0.execute(sql: "CREATE TABLE t (n INTEGER PRIMARY KEY)") }
        return (pool, folder)
    }

    @Test("every write is committed and answered, in fewer commits than writes")
    func concurrentWritesShareCommits() async throws {
        let (pool, folder) = try Self.database()
        defer { try? FileManager.default.removeItem(at: folder) }
        let commits = Commits()
        pool.add(transactionObserver: commits)
        let writes = GroupCommit(pool: pool)
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 1...300 {
                group.addTask {
                    try await writes.write { db in
                        try db.execute(sql: "INSERT INTO t (n) VALUES (?)", arguments: [n])
                        return n
                    }
                }
            }
            return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
        }
        #expect(answers == Set(1...300))
        #expect(try await pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM t") } == 300)
        let counted = commits.counts.withLock { $0 }
        #expect(counted.commits < 300, "300 writes at once took \(counted.commits) commits")
        #expect(counted.rollbacks == 0)
    }

    @Test("a write that fails in a shared transaction fails alone: those beside it are committed")
    func aFailureFailsAlone() async throws {
        let (pool, folder) = try Self.database()
        defer { try? FileManager.default.removeItem(at: folder) }
        let commits = Commits()
        pool.add(transactionObserver: commits)
        let writes = GroupCommit(pool: pool)
        // The writer is held until all 100 wait, so they go in shared transactions.
        let gate = DispatchSemaphore(value: 0)
        pool.asyncWriteWithoutTransaction { _ in gate.wait() }
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for n in 1...100 {
                group.addTask {
                    do {
                        try await writes.write { db in
                            try db.execute(sql: "INSERT INTO t (n) VALUES (?)", arguments: [n])
                            if n % 10 == 0 { throw Refused() }
                        }
                        return (n, true)
                    } catch {
                        return (n, false)
                    }
                }
            }
            while writes.waiting < 100 { try? await Task.sleep(for: .milliseconds(5)) }
            gate.signal()
            return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes.filter { !$0.value }.keys.sorted() == Array(stride(from: 10, through: 100, by: 10)))
        let stored = try await pool.read { try Int.fetchAll($0, sql: "SELECT n FROM t ORDER BY n") }
        #expect(stored == (1...100).filter { $0 % 10 != 0 })
        let counted = commits.counts.withLock { $0 }
        #expect(counted.rollbacks >= 1 + 10, "the shared transaction and each failing write alone roll back")
    }

    @Test("when the transaction cannot commit, every write of it hears so at once, none is run again alone")
    func aFailedCommitFailsTheBatch() async throws {
        let (pool, folder) = try Self.database()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A deferred foreign key that every write breaks: the statements succeed, the COMMIT fails.
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            try db.execute(sql: "CREATE TABLE child (id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)")
        }
        let writes = GroupCommit(pool: pool)
        let gate = DispatchSemaphore(value: 0)
        pool.asyncWriteWithoutTransaction { _ in gate.wait() }
        let runs = Runs()
        let failures = await withTaskGroup(of: Bool.self) { group in
            for n in 1...20 {
                group.addTask {
                    do {
                        try await writes.write { db in
                            runs.count.withLock { $0 += 1 }
                            try db.execute(sql: "INSERT INTO child (id) VALUES (?)", arguments: [n])
                        }
                        return false
                    } catch {
                        return true
                    }
                }
            }
            while writes.waiting < 20 { try? await Task.sleep(for: .milliseconds(5)) }
            gate.signal()
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 20)
        #expect(runs.count.withLock { $0 } == 20, "a failed commit is no reason to run each write again")
    }

    @Test("a write runs after the writes its caller made before it, and sees them")
    func ordered() async throws {
        let (pool, folder) = try Self.database()
        defer { try? FileManager.default.removeItem(at: folder) }
        let writes = GroupCommit(pool: pool)
        for n in 1...20 {
            let seen = try await writes.write { db in
                try db.execute(sql: "INSERT INTO t (n) VALUES (?)", arguments: [n])
                return try Int.fetchOne(db, sql: "SELECT count(*) FROM t") ?? 0
            }
            #expect(seen == n)
        }
    }
}
