import ArgumentParser
import Logging

/// Brings the database schema up to date and exits; `serve` does the same at start-up.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    func run() async throws {
        let (configuration, logger) = try Startup.configure()
        _ = try Startup.open(configuration, logger: logger)
        logger.info("database schema is up to date")
    }
}
