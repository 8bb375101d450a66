import Testing
import Foundation
import Logging
import Persistence

/// A store backend the conformance suite runs against; each test gets a fresh, empty store.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite

    var testDescription: String { rawValue }

    func makeStore() throws -> any Store {
        switch self {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            return try SQLiteStore(path: folder.appendingPathComponent("crm.sqlite").path, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        }
    }
}

