import ArgumentParser
import Foundation
import Logging
import Persistence

/// The steps every subcommand starts with.
enum Startup {
    /// Reads the configuration and sets up JSON logging on stderr; a bad setting ends the process
    /// with exit code 78 (EX_CONFIG) and a log line naming the variable.
    static func configure() throws -> (Configuration, Logger) {
        let environment = Configuration.loadEnvironment()
        let configuration: Result<Configuration, Configuration.Problem> = Result { () throws(Configuration.Problem) in
            try Configuration(environment: environment)
        }
        let level = (try? configuration.get().logLevel) ?? .info
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        let logger = Logger(label: "crm-sidecar")
        switch configuration {
        case .success(let configuration):
            return (configuration, logger)
        case .failure(let problem):
            logger.critical("invalid configuration: \(problem)", metadata: ["config.variable": "\(problem.variable)"])
            throw ExitCode(78)
        }
    }

    static func open(_ configuration: Configuration, logger: Logger) throws -> OpenedStore {
        do {
            switch configuration.database {
            case .sqlite(let path):
                return .sqlite(try SQLiteStore(path: path, logger: logger))
            case .postgres(let url):
                let postgres = try PostgresConfiguration(url: url)
                logger.info("using PostgreSQL", metadata: ["db.server": "\(postgres.safeDescription)"])
                return .postgres(PostgresStore(configuration: postgres, logger: logger))
            }
        } catch {
            logger.critical("cannot open the database", metadata: ["error": "\(error.message)"])
            throw ExitCode(error.code == .incompatibleSchema ? 78 : 1)
        }
    }
}
