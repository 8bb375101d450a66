import Foundation
import GRDB
import Logging
import Testing

@testable import Persistence

@Suite("The SQLite store")
struct SQLiteStoreTests {
    @Test("a database written by a newer sidecar is refused with a clear message")
    func newerSchemaIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).sqlite").path
        _ = try SQLiteStore(path: path, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')") }
        #expect {
            try SQLiteStore(path: path, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == .incompatibleSchema && error.message.contains("newer crm-sidecar")
        }
    }

    @Test("opening twice applies nothing twice")
    func reopening() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).sqlite").path
        _ = try SQLiteStore(path: path, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        _ = try SQLiteStore(path: path, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let applied = try DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(applied == ["0001_communications"])
    }

    @Test("an unreachable path is a storage error that names the path")
    func unreachable() {
        #expect {
            try SQLiteStore(path: "/nonexistent-folder/crm.sqlite", logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        } throws: { error in
            (error as? StoreError)?.message.contains("/nonexistent-folder/crm.sqlite") == true
        }
    }
}
