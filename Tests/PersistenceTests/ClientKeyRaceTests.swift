import CRMModel
import Foundation
import Persistence
import Testing

/// A client's key is made by the first communication that needs it, and may be shredded at any
/// moment: neither race may fail a write (or, as once, crash the process on a force-unwrap).
@Suite("A client's data key under concurrent writes and shreds")
struct ClientKeyRaceTests {
    let fixtures = StoreConformanceTests()

    @Test("first communications of one client written at once all read back whole", arguments: StoreBackend.available)
    func concurrentFirstWrites(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let client = UUID()
            let written = try (0..<12).map { _ in try fixtures.communication(client: client) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for item in written {
                    group.addTask { try await store.insert(item, leasedTo: nil) }
                }
                try await group.waitForAll()
            }
            for item in written {
                #expect(try await store.communication(id: item.id)?.recipient == item.recipient)
            }
        }
    }

    @Test("writes racing shreds of the same client all succeed", arguments: StoreBackend.available)
    func writesRacingShreds(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let client = UUID()
            let written = try (0..<16).map { _ in try fixtures.communication(client: client) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, item) in written.enumerated() {
                    group.addTask { try await store.insert(item, leasedTo: nil) }
                    if index % 4 == 0 {
                        group.addTask { try await store.shred(clientID: client) }
                    }
                }
                try await group.waitForAll()
            }
            let stored = try await store.communications(matching: CommunicationQuery(clientID: client, limit: 100)).items
            #expect(Set(stored.map(\.id)) == Set(written.map(\.id)))
            let after = try fixtures.communication(client: client)
            try await store.insert(after, leasedTo: nil)
            #expect(try await store.communication(id: after.id)?.context == after.context)
        }
    }

    @Test("a communication from before a shred reads back redacted after the client writes again", arguments: StoreBackend.available)
    func oldCommunicationAfterNewKey(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let client = UUID()
            let forgotten = try fixtures.communication(client: client)
            try await store.insert(forgotten, leasedTo: nil)
            try await store.shred(clientID: client)
            try await store.insert(try fixtures.communication(client: client), leasedTo: nil)
            // The shred marked the old row erased, so the client's new key is never tried on it.
            let read = try #require(try await store.communication(id: forgotten.id))
            #expect(read.recipient == Recipient() && read.context.isEmpty && read.erased)
        }
    }
}
