import ArgumentParser
import CRMModel
import Foundation
import Logging
import Orchestrator
import Persistence
import ServiceLifecycle

/// One retention pass, by this process's clock: prints what it removed (or, with --dry-run, what the
/// first batch would remove) as one JSON object of counts per table, and exits.
struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Remove what is older than RETENTION_DAYS (AUDIT_RETENTION_DAYS for the audit log) and print the counts."
    )

    @Flag(help: "Count what would be removed; remove nothing.")
    var dryRun = false

    func run() async throws {
        let (configuration, logger) = try Startup.configure()
        let opened = try Startup.open(configuration, logger: logger)
        let compliance = Compliance.make(configuration, store: opened.store, events: SilentEvents(), logger: logger)
        let counts = try await withThrowingTaskGroup(of: Void.self) { group -> PurgeCounts in
            if let service = opened.service {
                group.addTask { try await service.run() }
            }
            defer { group.cancelAll() }
            do {
                try await opened.prepare()
                return try await compliance.purge(dryRun: dryRun)
            } catch let error as StoreError {
                logger.critical("cannot purge", metadata: ["error": "\(error.message)"])
                throw ExitCode(1)
            }
        }
        let json = (try? WireJSON.makeEncoder().encode(counts)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        Report.line(json)
    }
}
