import CSQLiteWALBatch
import Foundation
import GRDB
import Testing

@testable import Persistence

/// The VFS that writes a commit's WAL frames at once (Sources/CSQLiteWALBatch/WALBatch.c).
@Suite("WAL frames written at once")
struct WALBatchTests {
    init() {
        #expect(crm_wal_batch_register())
    }

    private static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("crm-wal-\(UUID().uuidString).sqlite").path
    }

    @Test("with synchronous=FULL, commits of several pages each read back whole from another connection")
    func commitsAreWrittenBeforeTheirSync() throws {
        let path = Self.temporaryPath()
        let pool = try DatabasePool(path: path)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, value BLOB NOT NULL, copy BLOB NOT NULL)")
        }
        let before = crm_wal_batch_flushes()
        for commit in 0..<50 {
            try pool.write { db in
                // Several pages a commit, as an accept writes.
                for row in 0..<10 {
                    let value = Data((0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* (commit + 1) &+ row) })
                    try db.execute(sql: "INSERT INTO t (value, copy) VALUES (?, ?)", arguments: [value, value])
                }
            }
        }
        // The frames were gathered: at least one write of them a commit (other tests' commits,
        // running meanwhile, may add to the count, so it bounds nothing above).
        #expect(crm_wal_batch_flushes() - before >= 50)
        // Another connection, and SQLite's own check of every page, see what was committed.
        let (count, mismatched, check) = try Self.readBack(path)
        #expect(count == 500)
        #expect(mismatched == 0)
        #expect(check == "ok")
    }

    @Test("without a sync at commit (synchronous=NORMAL), readers never see frames before they are in the file")
    func readersSeeOnlyWrittenFrames() async throws {
        let path = Self.temporaryPath()
        let pool = try DatabasePool(path: path)
        try await pool.writeWithoutTransaction { db in
            // GRDB's default in WAL mode: SQLite commits without calling xSync; only the WAL
            // index's barrier publishes the frames.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, value BLOB NOT NULL, copy BLOB NOT NULL)")
        }
        let commits = 300
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for commit in 0..<commits {
                    try await pool.write { db in
                        for row in 0..<4 {
                            let value = Data((0..<1_500).map { UInt8(truncatingIfNeeded: $0 &+ commit &* 7 &+ row) })
                            try db.execute(sql: "INSERT INTO t (value, copy) VALUES (?, ?)", arguments: [value, value])
                        }
                    }
                }
            }
            group.addTask {
                // A frame read before it was written would read as zeros or another page: a
                // mismatch, a malformed page, or a count going back.
                var seen = 0
                let deadline = Date().addingTimeInterval(60)
                while seen < commits * 4, Date() < deadline {
                    let (count, mismatched) = try await pool.read { db in
                        (try Int.fetchOne(db, sql: "SELECT count(*) FROM t") ?? -1,
                         try Int.fetchOne(db, sql: "SELECT count(*) FROM t WHERE value != copy OR length(value) != 1500") ?? -1)
                    }
                    #expect(mismatched == 0)
                    #expect(count >= seen)
                    seen = count
                }
            }
            try await group.waitForAll()
        }
        let check = try await DatabaseQueue(path: path).read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
        #expect(check == "ok")
    }

    @Test("frames of a transaction that rolled back are dropped, never written over frames another connection committed since")
    func rolledBackFramesAreDropped() throws {
        let path = Self.temporaryPath()
        // Two connections on one file, as two sidecars (or two processes) would have.
        let first = try DatabaseQueue(path: path)
        let second = try DatabaseQueue(path: path)
        try first.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, value BLOB NOT NULL, copy BLOB NOT NULL)")
            // A cache of 10 pages: a bigger transaction writes pages to the WAL before its commit.
            try db.execute(sql: "PRAGMA cache_size = 10")
        }
        struct Abandon: Error {}
        #expect(throws: Abandon.self) {
            try first.inTransaction { db in
                for row in 0..<200 {
                    let value = Data(repeating: UInt8(row % 251), count: 2_000)
                    try db.execute(sql: "INSERT INTO t (value, copy) VALUES (?, ?)", arguments: [value, value])
                }
                throw Abandon()
            }
        }
        // The other connection commits frames where the abandoned ones were.
        try second.write { db in
            for row in 0..<50 {
                let value = Data(repeating: UInt8(200 - row), count: 1_500)
                try db.execute(sql: "INSERT INTO t (value, copy) VALUES (?, ?)", arguments: [value, value])
            }
        }
        // The first connection's next write must not bring the abandoned frames back.
        try first.write { db in
            try db.execute(sql: "INSERT INTO t (value, copy) VALUES (x'01', x'01')")
        }
        let (count, mismatched, check) = try Self.readBack(path)
        #expect(count == 51)
        #expect(mismatched == 0)
        #expect(check == "ok")
    }

    /// What another connection reads of `t` at `path`: its rows, those whose two copies differ, and
    /// SQLite's own check of every page.
    static func readBack(_ path: String) throws -> (rows: Int?, mismatched: Int?, check: String?) {
        try DatabaseQueue(path: path).read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM t"), try Int.fetchOne(db, sql: "SELECT count(*) FROM t WHERE value != copy"),
             try String.fetchOne(db, sql: "PRAGMA integrity_check"))
        }
    }
}
