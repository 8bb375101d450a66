import ArgumentParser
import CRMModel
import Foundation
import Logging
import Persistence
import ServiceLifecycle

/// Re-wraps every client key from DB_ENCRYPTION_KEY_PREVIOUS to DB_ENCRYPTION_KEY and re-indexes
/// every contact, while sidecars given both keys keep running; then the database records the new key
/// and a sidecar given only the old one is refused. Prints the counts as JSON.
struct RotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Move every client key from DB_ENCRYPTION_KEY_PREVIOUS to DB_ENCRYPTION_KEY (see the README's rotation procedure)."
    )

    @Option(help: "Rows per transaction.")
    var batch = 200

    func run() async throws {
        let (configuration, logger) = try Startup.configure()
        guard configuration.previousEncryptionKey != nil else {
            logger.critical("rotate-key needs DB_ENCRYPTION_KEY (the new key) and DB_ENCRYPTION_KEY_PREVIOUS (the old one)")
            throw ExitCode(78)
        }
        let opened = try Startup.open(configuration, logger: logger)
        let rotation = try await withThrowingTaskGroup(of: Void.self) { group -> KeyRotation in
            if let service = opened.service {
                group.addTask { try await service.run() }
            }
            defer { group.cancelAll() }
            do {
                try await opened.prepare()
                let rotation = try await opened.store.rotateKeys(batch: max(1, batch))
                try await opened.store.audit(AuditEntry(
                    at: Date(), actor: .system, action: AuditEntry.keyRotated,
                    detail: "client_keys=\(rotation.clientKeys) contacts=\(rotation.contacts)"
                ))
                return rotation
            } catch let error as StoreError {
                logger.critical("cannot rotate the key", metadata: ["error": "\(error.message)"])
                throw ExitCode(1)
            }
        }
        logger.notice("key rotated; keep DB_ENCRYPTION_KEY_PREVIOUS set for 30 days more: email links signed before the rotation (unsubscribe among them) verify only while it is")
        let json = (try? WireJSON.makeEncoder().encode(rotation)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        Report.line(json)
    }
}
