import ArgumentParser
import Logging
import Persistence
import ServiceLifecycle

/// Brings the database schema up to date and exits; `serve` does the same at start-up.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending database migrations and exit.")

    func run() async throws {
        let (configuration, logger) = try Startup.configure()
        let opened = try Startup.open(configuration, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let service = opened.service {
                group.addTask { try await service.run() }
            }
            defer { group.cancelAll() }
            do {
                try await opened.prepare()
            } catch let error as StoreError {
                logger.critical("cannot migrate the database", metadata: ["error": "\(error.message)"])
                throw ExitCode(error.code == .incompatibleSchema || error.code == .wrongKey ? 78 : 1)
            }
        }
        logger.info("database schema is up to date")
    }
}
