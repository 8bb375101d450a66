import CRMModel
import Foundation
import Persistence
import PostgresNIO
import Synchronization
import Testing

@Suite("A save of preferences is heard by every sidecar on the same PostgreSQL")
struct PreferencesNoticeTests {
    @Test("another store on the database hears the save, with the client's id", .enabled(if: StoreBackend.serverURL != nil))
    func heardAcrossStores() async throws {
        let url = try await StoreBackend.freshDatabase()
        let configuration = try PostgresConfiguration(url: url)
        let saver = PostgresStore(configuration: configuration, cipher: StoreBackend.cipher, logger: StoreBackend.quiet)
        let listener = PostgresStore(configuration: configuration, cipher: StoreBackend.cipher, logger: StoreBackend.quiet)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await saver.run() }
            group.addTask { try await listener.run() }
            defer { group.cancelAll() }
            try await saver.migrate()
            let client = UUID()
            let heard = Mutex(false)
            let listening = Task {
                for await notice in listener.preferencesNotices() where notice == .saved(clientID: client) {
                    heard.withLock { $0 = true }
                    return
                }
            }
            defer { listening.cancel() }
            // LISTEN is set up in the background: save until the listener hears, for at most 10 s.
            var preferences = ClientPreferences(clientID: client, optOutEmail: true)
            for _ in 0..<50 where !heard.withLock({ $0 }) {
                preferences.updatedAt = Date()
                try await saver.save(preferences)
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(heard.withLock { $0 }, "the other store never heard of the save")
        }
    }

    @Test("SQLite has no such channel: its stream ends at once")
    func sqliteHasNone() async throws {
        try await StoreBackend.sqlite.withStore { store in
            var count = 0
            for await _ in store.preferencesNotices() { count += 1 }
            #expect(count == 0)
        }
    }
}
