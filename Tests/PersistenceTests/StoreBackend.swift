import Foundation
import Logging
import Persistence
import PostgresNIO
import Testing

/// A store backend the conformance suite runs against; each test gets a fresh, empty store.
///
/// PostgreSQL joins when `CRM_TEST_POSTGRES_URL` names a server (script/test starts one); each test
/// then gets a database of its own on it.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static let serverURL = ProcessInfo.processInfo.environment["CRM_TEST_POSTGRES_URL"]

    /// The backends this run can reach.
    static var available: [StoreBackend] {
        serverURL == nil ? [.sqlite] : allCases
    }

    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A fixed master key, as DB_ENCRYPTION_KEY would give.
    static let cipher = FieldCipher(master: try! MasterKey(secret: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="))

    /// Runs `body` with a fresh store, and stops whatever the store runs afterwards.
    func withStore<T: Sendable>(_ body: @Sendable (any Store) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            return try await body(try SQLiteStore(path: folder.appendingPathComponent("crm.sqlite").path, cipher: Self.cipher, logger: Self.quiet))
        case .postgres:
            let url = try await Self.freshDatabase()
            let store = PostgresStore(configuration: try PostgresConfiguration(url: url), cipher: Self.cipher, logger: Self.quiet)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { group.cancelAll() }
                try await store.migrate()
                return try await body(store)
            }
        }
    }

    /// A new, empty database on the test server, and its URL.
    static func freshDatabase() async throws -> String {
        guard let serverURL, var components = URLComponents(string: serverURL) else {
            throw StoreError(.unavailable, "CRM_TEST_POSTGRES_URL is not set")
        }
        let name = "crm_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = PostgresClient(configuration: try PostgresConfiguration(url: serverURL).client, backgroundLogger: quiet)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            defer { group.cancelAll() }
            // A database name cannot be bound; this one is made of hex digits only.
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quiet)
        }
        components.path = "/" + name
        return components.string!
    }
}
