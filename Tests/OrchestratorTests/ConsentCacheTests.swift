import CRMModel
import Foundation
import Logging
import Orchestrator
import Persistence
import Testing

@Suite("The consent cache: saves here count at once, notices from elsewhere and age end an entry")
struct ConsentCacheTests {
    let store: SQLiteStore
    let client = UUID()
    let start = Date(timeIntervalSince1970: 1_764_072_000)

    init() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-consent-\(UUID().uuidString).sqlite").path
        store = try SQLiteStore(
            path: path, cipher: FieldCipher(master: try MasterKey(secret: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    /// Saves straight to the store, as another process would: the cache is not told.
    func saveElsewhere(optOutEmail: Bool, at: Date) async throws {
        var preferences = ClientPreferences(clientID: client, optOutEmail: optOutEmail)
        preferences.updatedAt = at
        try await store.save(preferences)
    }

    @Test("an unknown client has no opt-outs; a save elsewhere is seen once the entry has aged")
    func freshness() async throws {
        let cache = ConsentCache(store: store, freshness: 1)
        #expect(try await cache.optedOut(of: client, at: start) == [])
        try await saveElsewhere(optOutEmail: true, at: start)
        #expect(try await cache.optedOut(of: client, at: start.addingTimeInterval(0.5)) == [])
        #expect(try await cache.optedOut(of: client, at: start.addingTimeInterval(1)) == [.email])
    }

    @Test("a notice of a save elsewhere ends the entry at once; so does a notice that some were missed")
    func notices() async throws {
        let cache = ConsentCache(store: store, freshness: 3600)
        #expect(try await cache.optedOut(of: client, at: start) == [])
        try await saveElsewhere(optOutEmail: true, at: start)
        cache.follow(.saved(clientID: UUID()))
        #expect(try await cache.optedOut(of: client, at: start) == [])
        cache.follow(.saved(clientID: client))
        #expect(try await cache.optedOut(of: client, at: start) == [.email])
        try await saveElsewhere(optOutEmail: false, at: start.addingTimeInterval(1))
        cache.follow(.mayHaveMissed)
        #expect(try await cache.optedOut(of: client, at: start) == [])
    }

    @Test("a save in this process counts at once, and an older read never replaces it")
    func localSaveWins() async throws {
        let cache = ConsentCache(store: store, freshness: 3600)
        var saved = ClientPreferences(clientID: client, optOutSMS: true)
        saved.updatedAt = start.addingTimeInterval(10)
        cache.remember(saved, readAt: start.addingTimeInterval(10))
        var older = ClientPreferences(clientID: client)
        older.updatedAt = start
        cache.remember(older, readAt: start.addingTimeInterval(11))
        #expect(try await cache.optedOut(of: client, at: start.addingTimeInterval(12)) == [.sms])
    }
}
