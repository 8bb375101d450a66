import CRMModel
import Foundation
import Persistence
import Testing

/// Rotating DB_ENCRYPTION_KEY: data written under the old key reads under the new one, addresses
/// are still found, and afterwards the old key alone is refused.
@Suite("Key rotation")
struct KeyRotationTests {
    static let old = try! MasterKey(secret: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
    static let new = try! MasterKey(secret: "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=")
    static let other = try! MasterKey(secret: "YW5vdGhlciBrZXksIG5vdCB0aGUgcm90YXRpb24ncyE=")

    /// Runs `body` with a store on the database at `location` (a file path or a PostgreSQL URL) under `cipher`.
    func with<T: Sendable>(
        _ backend: StoreBackend, _ location: String, _ cipher: FieldCipher, _ body: @Sendable (any Store) async throws -> T
    ) async throws -> T {
        switch backend {
        case .sqlite:
            return try await body(try SQLiteStore(path: location, cipher: cipher, logger: StoreBackend.quiet))
        case .postgres:
            let store = PostgresStore(configuration: try PostgresConfiguration(url: location), cipher: cipher, logger: StoreBackend.quiet)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { group.cancelAll() }
                try await store.migrate()
                return try await body(store)
            }
        }
    }

    @Test("while a rotation is under way, a sidecar rotating to another key is refused", arguments: StoreBackend.available)
    func oneTarget(_ backend: StoreBackend) async throws {
        let location = switch backend {
        case .sqlite: FileManager.default.temporaryDirectory.appendingPathComponent("crm-rotation-\(UUID().uuidString).sqlite").path
        case .postgres: try await StoreBackend.freshDatabase()
        }
        try await with(backend, location, FieldCipher(master: Self.old)) { _ in }
        try await with(backend, location, FieldCipher(master: Self.new, previous: Self.old)) { _ in }
        await #expect(throws: StoreError.self) {
            try await with(backend, location, FieldCipher(master: Self.other, previous: Self.old)) { _ in }
        }
        // The rotation's own sidecars, and those not yet restarted, still start.
        try await with(backend, location, FieldCipher(master: Self.new, previous: Self.old)) { _ in }
        try await with(backend, location, FieldCipher(master: Self.old)) { _ in }
    }

    @Test("old data reads under the new key after a rotation, and the old key alone is refused", arguments: StoreBackend.available)
    func rotation(_ backend: StoreBackend) async throws {
        let location = switch backend {
        case .sqlite: FileManager.default.temporaryDirectory.appendingPathComponent("crm-rotation-\(UUID().uuidString).sqlite").path
        case .postgres: try await StoreBackend.freshDatabase()
        }
        let client = UUID()
        let request = CommunicationRequest(
            planID: UUID(), clientID: client, messageType: .reminder, urgency: .high,
            recipient: Recipient(email: try EmailAddress(validating: "ana@example.com"), phone: try PhoneNumber(validating: "+14155550100")),
            context: ["client_name": .string("Ana")]
        )
        let decision = Decision(channels: [.email], sendAt: Date(), priority: 7, reasons: [])
        let written = Communication(id: UUID(), request: request, decision: decision, status: .queued, createdAt: Date())
        try await with(backend, location, FieldCipher(master: Self.old)) { store in
            try await store.insert(written, leasedTo: nil)
        }
        // Sidecars restarted with both keys keep working before and during the rotation.
        let rotation = try await with(backend, location, FieldCipher(master: Self.new, previous: Self.old)) { store in
            #expect(try await store.clients(withAddress: "ana@example.com") == [client])
            #expect(try await store.communication(id: written.id)?.recipient == written.recipient)
            let rotation = try await store.rotateKeys(batch: 1)
            #expect(try await store.rotateKeys(batch: 1) == KeyRotation())
            return rotation
        }
        #expect(rotation.clientKeys == 1 && rotation.contacts == 3)
        // Once finished, a new rotation may go anywhere; a sidecar still given the old key alone may not.
        try await with(backend, location, FieldCipher(master: Self.other, previous: Self.new)) { _ in }
        try await with(backend, location, FieldCipher(master: Self.new)) { (store: any Store) async throws in
            #expect(try await store.communication(id: written.id)?.recipient == written.recipient)
            #expect(try await store.clients(withAddress: "ana@example.com") == [client])
            #expect(try await store.clients(withAddress: "+14155550100") == [client])
        }
        await #expect(throws: StoreError.self) {
            try await with(backend, location, FieldCipher(master: Self.old)) { _ in }
        }
    }
}
