import GRDB
import Testing

@testable import Persistence

/// Databases out there have run every shipped migration and will never run it again, so an edit to
/// one would split the world into old and new schemas without a word. These pins make the edit fail
/// here instead: a schema change is a new migration at the end of the list.
@Suite("Shipped migrations never change")
struct MigrationChecksumTests {
    /// `Migration.checksum` of each SQLite migration as it shipped, in order. When a migration
    /// ships, append its line; never edit one.
    static let sqlitePins: [(name: String, checksum: String)] = [
        ("0001_communications", "b99e75e7a3597b9b1fb4832fd338b527551164ae3f7d6381ecd699c146e81e80"),
        // Also runs Swift code (it seals what 0001 stored in the clear); only its SQL is pinned
        // here, its code is covered by SQLiteStoreTests.sealingOnUpgrade and the conformance suite.
        ("0002_encryption_contacts_queue", "258e3204953f0dada4f373b514a2c44bad10928d64b5132dfff5b254c42bd92d"),
        ("0003_attachments_template_gaps", "5b01223835542df5d0aa3941fc1bc171e35613fa6683db642e1be9eb6aa71d56"),
        ("0004_conversations", "465b0f3a0b4bbcf58251f07aed7784cd87f818aedd1ef72d29d737b19b4079fb"),
        ("0005_skipped_attempts", "85f1ac9983155ca0cd06f4aeddf84049143014cdb01303ec4dcad12093909f5e"),
        ("0006_event_log", "fe91e54557d9b3325780df74d8a7c98e2589e26d78ca44754b3f56b2e7df4316"),
        ("0007_compliance", "e9b6f395777785916e20484f985bf298168639ec3535da73bf2e6ae418c7dd69"),
        ("0008_rotation_target", "b0582910d7b3f2c62016de48cbc45874cf4447ef4b63d4b35d7ba05effc9646c"),
        ("0009_analytics_rollups", "690759d4fe9801cd6e74174b3032f4a192c5085ce11eb5f31f57459a8ef34476"),
        ("0010_analytics_quarters", "e815163781b0a0bbe0ebe8b32eb3ff5c0e98d9c41b499a2816b39bd36b6ca89e"),
    ]

    /// The same for PostgreSQL.
    static let postgresPins: [(name: String, checksum: String)] = [
        ("0001_communications", "14ad4c459ff7a731a882d93208546e112481c9a7c7663e668bc9aebb70a4b274"),
        ("0002_attachments_template_gaps", "b29c3e079a7d375d5f6520b2238e4c8b0407e6a88120aa1e456c9366cabc51fa"),
        ("0003_conversations_origin", "3ba8c0a13a2087d121230a5d96a927820272bae733181f9eef3317ce7c79b284"),
        ("0004_skipped_attempts", "85f1ac9983155ca0cd06f4aeddf84049143014cdb01303ec4dcad12093909f5e"),
        ("0005_event_log", "1326875affe7410f9e2f94d9946aec156b0bee4df6b099d2220eae6c17a83639"),
        ("0006_compliance", "01a22fb9a0f44fd401ed2e5fd61a4e019a91c11c1338f2ae89a609f8bac3f1f7"),
        ("0007_rotation_target", "5c18967b462d87cc2de3737cda12e140791c3b249f0f58060f9a557a929cbbdb"),
        ("0008_analytics_rollups", "6c00015f5fc160025ff6f07b634e286651381237e43f1f285bc856cc73f4e7d7"),
        ("0009_analytics_quarters", "06121a095ac8a15bf6b12cf289d23f20575ac71c773ffc2c3ac91c0b6f43bec0"),
        ("0010_children_unchecked", "402e1793d92dc8b7b1f2a298b344bd18988c96e2cae7b49e08e8e6e1e57e2b7c"),
    ]

    static func ledger(of backend: StoreBackend) -> (shipped: [Migration], pins: [(name: String, checksum: String)], file: String) {
        switch backend {
        case .sqlite: (SQLiteMigrations.shipped, sqlitePins, "SQLiteMigrations.swift")
        case .postgres: (PostgresMigrations.shipped, postgresPins, "PostgresMigrations.swift")
        }
    }

    @Test("every shipped migration still has the SQL it shipped with", arguments: StoreBackend.allCases)
    func pinnedMigrationsAreUnchanged(backend: StoreBackend) {
        let (shipped, pins, file) = Self.ledger(of: backend)
        for pin in pins {
            guard let migration = shipped.first(where: { $0.name == pin.name }) else {
                Issue.record("""
                    \(backend): shipped migration \(pin.name) is gone from \(file); databases out there \
                    have run it. Put it back, and add a new migration instead of removing \(pin.name).
                    """)
                continue
            }
            #expect(migration.checksum == pin.checksum, """
                \(backend): migration \(pin.name) in \(file) was edited after it shipped; databases that \
                ran it will never see the change. Restore its SQL and add a new migration instead of \
                editing \(pin.name).
                """)
        }
    }

    @Test("every migration is pinned, and new ones only come after the pinned", arguments: StoreBackend.allCases)
    func newMigrationsAreAppendedAndPinned(backend: StoreBackend) {
        let (shipped, pins, file) = Self.ledger(of: backend)
        #expect(Array(shipped.prefix(pins.count).map(\.name)) == pins.map(\.name), """
            \(backend): the migrations in \(file) no longer start with the shipped ones in their order; \
            add a new migration at the end instead of inserting, renaming or reordering.
            """)
        for migration in shipped.dropFirst(pins.count) {
            Issue.record("""
                \(backend): migration \(migration.name) in \(file) is not pinned; once it ships it must not \
                change. Add ("\(migration.name)", "\(migration.checksum)") to the pins in MigrationChecksumTests.
                """)
        }
    }

    @Test("migration names are unique and numbered in the order they run", arguments: StoreBackend.allCases)
    func namesAreUniqueAndInOrder(backend: StoreBackend) {
        let names = Self.ledger(of: backend).shipped.map(\.name)
        #expect(Set(names).count == names.count, "\(backend): two migrations share a name: \(names)")
        for (position, name) in names.enumerated() {
            let digits = String(position + 1)
            let number = String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_"
            #expect(name.hasPrefix(number), "\(backend): migration \(name) runs as number \(position + 1); its name must start with \(number)")
        }
    }

    @Test("the SQLite migrator registers exactly the shipped migrations, in order")
    func sqliteMigratorRunsShipped() {
        let registered = SQLiteMigrations.migrator(cipher: StoreBackend.cipher).migrations
        #expect(registered == SQLiteMigrations.shipped.map(\.name))
    }
}
