import CRMModel
import Foundation
import GRDB
import Logging
import Testing

import CSQLiteWALBatch
@testable import Persistence

@Suite("The SQLite store")
struct SQLiteStoreTests {
    @Test("a database written by a newer sidecar is refused with a clear message")
    func newerSchemaIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).sqlite").path
        _ = try SQLiteStore(path: path, cipher: StoreBackend.cipher, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')") }
        #expect {
            try SQLiteStore(path: path, cipher: StoreBackend.cipher, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == .incompatibleSchema && error.message.contains("newer crm-sidecar")
        }
    }

    @Test("the writer commits with synchronous=FULL, which GRDB's WAL set-up would leave at NORMAL")
    func commitsWaitForTheDisk() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).sqlite").path
        let store = try SQLiteStore(path: path, cipher: StoreBackend.cipher, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect(try await store.writerSynchronousMode() == 2)
    }

    @Test(
        "a statement journal of about 90 KB stays in memory, where SQLite's default moves it to a file past 64 KB; one of a MB still goes",
        .enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fd"), "reads the open files in /proc/self/fd")
    )
    func statementJournalsInMemory() async {
        // In a process of its own: the setting must come before SQLite's first use in the process.
        await #expect(processExitsWith: .success) {
            guard crm_statement_journals_configure() else { exit(2) }
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).sqlite").path
            let pool = try DatabasePool(path: path)
            // Rows of 300 bytes under a UNIQUE index: an UPDATE of them all may fail half-way, so
            // SQLite journals every page it changes, of the table and of the index.
            try await pool.write { db in
                for (table, rows) in [("small", 120), ("large", 2_000)] {
                    try db.execute(sql: "CREATE TABLE \(table) (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
                    for i in 0..<rows {
                        try db.execute(sql: "INSERT INTO \(table) (v) VALUES (?)", arguments: [String(repeating: "x", count: 300) + "\(i)"])
                    }
                }
            }
            /// Whether updating every row of `table` left a temporary file open: the journal, spilled.
            @Sendable func spills(_ table: String) async throws -> Bool {
                try await pool.write { db in
                    try db.execute(sql: "UPDATE \(table) SET v = v || 'y'")
                    let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
                    return descriptors.contains { descriptor in
                        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)"))?.contains("etilqs_") == true
                    }
                }
            }
            // About 20 pages (90 KB): in memory. About 300 pages: in a file, so the check sees spills at all.
            let (small, large) = (try await spills("small"), try await spills("large"))
            try pool.close()
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            exit(!small && large ? 0 : 1)
        }
    }

    @Test("committed pages reach the database file without the writer checkpointing: a connection of its own copies them")
    func checkpointsBesideTheWriter() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).sqlite").path
        let store = try SQLiteStore(path: path, cipher: StoreBackend.cipher, logger: StoreBackend.quiet)
        let size = { ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0 }
        let before = size()
        // About 2 MB of pages: far below the writer's own threshold (WALCheckpointer.writerBackstopPages).
        let now = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<1000 {
                group.addTask {
                    let request = CommunicationRequest(
                        planID: UUID(), clientID: UUID(), messageType: .welcome, urgency: .high,
                        recipient: Recipient(email: try EmailAddress(validating: "priya@example.com")),
                        context: ["client_name": .string(String(repeating: "Priya ", count: 50))]
                    )
                    let communication = Communication(
                        id: .timeOrdered(at: now), request: request,
                        decision: Decision(channels: [.email], sendAt: now.addingTimeInterval(3600), priority: 5, reasons: []),
                        status: .scheduled, createdAt: now
                    )
                    try await store.insert(communication, leasedTo: nil)
                }
            }
            try await group.waitForAll()
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while size() < before + 1_000_000, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(size() >= before + 1_000_000, "the database file stayed at \(size()) bytes (\(before) before the writes)")
        #expect(try await store.writerAutoCheckpointPages() == WALCheckpointer.writerBackstopPages)
        // Writes over, every frame is copied in the end: the database file alone, without its WAL, has them all.
        var inFile = 0
        while inFile < 1000, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            let copy = path + ".alone"
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            inFile = (try? await DatabaseQueue(path: copy).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM communications") ?? 0 }) ?? 0
        }
        #expect(inFile == 1000, "the database file alone has \(inFile) of the 1,000 communications")
    }

    @Test("opening twice applies nothing twice")
    func reopening() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).sqlite").path
        _ = try SQLiteStore(path: path, cipher: StoreBackend.cipher, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        _ = try SQLiteStore(path: path, cipher: StoreBackend.cipher, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let applied = try DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(applied == ["0001_communications", "0002_encryption_contacts_queue", "0003_attachments_template_gaps", "0004_conversations", "0005_skipped_attempts", "0006_event_log", "0007_compliance", "0008_rotation_target", "0009_analytics_rollups", "0010_analytics_quarters"])
    }

    @Test("an unreachable path is a storage error that names the path")
    func unreachable() {
        #expect {
            try SQLiteStore(path: "/nonexistent-folder/crm.sqlite", cipher: StoreBackend.cipher, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        } throws: { error in
            (error as? StoreError)?.message.contains("/nonexistent-folder/crm.sqlite") == true
        }
    }

    @Test("a database from before encryption has its plaintext sealed and its unsent work queued")
    func sealingOnUpgrade() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).sqlite").path
        let old = try DatabaseQueue(path: path)
        try SQLiteMigrations.migrator(cipher: StoreBackend.cipher).migrate(old, upTo: "0001_communications")
        let id = UUID().uuidString.lowercased()
        let client = UUID().uuidString.lowercased()
        try await old.write { db in
            try db.execute(
                sql: """
                    INSERT INTO communications VALUES (?, ?, ?, 'welcome', 'high', 'queued', NULL, 7,
                      '{"channels":["email"],"priority":7,"reasons":[],"send_at":"2026-11-25T00:00:00.000Z"}',
                      '{"email":"priya@example.com"}', '{"client_name":"Priya Sharma"}', NULL, NULL, 1764028800000, 1764028800000)
                    """,
                arguments: [id, UUID().uuidString.lowercased(), client]
            )
        }
        try old.close()

        let store = try SQLiteStore(path: path, cipher: StoreBackend.cipher, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let read = try #require(try await store.communication(id: UUID(uuidString: id)!))
        #expect(read.recipient.email?.value == "priya@example.com" && read.context["client_name"] == .string("Priya Sharma"))
        let raw = try await DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT recipient, context FROM communications").flatMap { [$0["recipient"] as Data, $0["context"] as Data] }
        }
        #expect(!raw.contains { String(decoding: $0, as: UTF8.self).contains("priya") || String(decoding: $0, as: UTF8.self).contains("Priya") })
        let due = try await store.claimDue(by: Date(), for: Lease(owner: "t", expiresAt: Date().addingTimeInterval(30)), limit: 5)
        #expect(due.map(\.id.uuidString).map { $0.lowercased() } == [id])
        #expect(try await store.clients(withAddress: "priya@example.com") == [UUID(uuidString: client)!])
    }

    @Test("a database is refused under a key other than the one it was written with")
    func wrongKey() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).sqlite").path
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        _ = try SQLiteStore(path: path, cipher: StoreBackend.cipher, logger: quiet)
        let other = FieldCipher(master: try MasterKey(secret: String(repeating: "another passphrase ", count: 2)))
        #expect {
            try SQLiteStore(path: path, cipher: other, logger: quiet)
        } throws: { error in
            (error as? StoreError)?.code == .wrongKey
        }
        _ = try SQLiteStore(path: path, cipher: StoreBackend.cipher, logger: quiet)
    }

    @Test("a generated key file is private and reused")
    func generatedKey() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).sqlite").path
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let first = try MasterKey.forSQLite(databasePath: path, logger: quiet)
        let attributes = try FileManager.default.attributesOfItem(atPath: path + ".key")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try MasterKey.forSQLite(databasePath: path, logger: quiet).check == first.check)
    }

    /// The store seals an accept's rows before the write under the key it remembers for the client
    /// (`ClientKeyCache`); another sidecar on the same file can shred that key meanwhile, and
    /// nothing tells this one.
    @Test("a client erased by another sidecar on the same file: the next accept here is sealed under the client's new key, not the one remembered")
    func keyShreddedElsewhere() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).sqlite").path
        let here = try SQLiteStore(path: path, cipher: StoreBackend.cipher, logger: StoreBackend.quiet)
        let elsewhere = try SQLiteStore(path: path, cipher: StoreBackend.cipher, logger: StoreBackend.quiet)
        let fixtures = StoreConformanceTests()
        let client = UUID()
        try await here.insert(try fixtures.communication(client: client), leasedTo: nil)
        try await here.insert(try fixtures.communication(client: client), leasedTo: nil)
        try await elsewhere.shred(clientID: client)
        let after = try fixtures.communication(client: client)
        try await here.insert(after, leasedTo: nil)
        // Read by the other sidecar, which never had the old key: it opens with the stored one.
        let read = try #require(try await elsewhere.communication(id: after.id))
        #expect(read.recipient == after.recipient && read.context == after.context && !read.erased)
        #expect(try await here.communication(id: after.id)?.context == after.context)
    }
}
