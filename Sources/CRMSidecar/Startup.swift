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
        do throws(StoreError) {
            switch configuration.database {
            case .sqlite(let path):
                let master: MasterKey
                if let configured = configuration.encryptionKey {
                    master = configured
                } else {
                    master = try MasterKey.forSQLite(databasePath: path, logger: logger)
                }
                return OpenedStore(
                    .sqlite(try SQLiteStore(
                        path: path, cipher: FieldCipher(master: master, previous: configuration.previousEncryptionKey),
                    auditEverything: configuration.auditEverything, logger: logger
                    )), master: master,
                    instance: configuration.instance ?? PostgresStore.randomInstance()
                )
            case .postgres(let url):
                let postgres = try PostgresConfiguration(url: url)
                guard let master = configuration.encryptionKey else {
                    // Checked by Configuration; kept here so no path opens PostgreSQL without a key.
                    throw StoreError(.unavailable, "DB_ENCRYPTION_KEY is required with PostgreSQL")
                }
                logger.info("using PostgreSQL", metadata: ["db.server": "\(postgres.safeDescription)"])
                let instance = configuration.instance ?? PostgresStore.randomInstance()
                return OpenedStore(.postgres(PostgresStore(
                    configuration: postgres, cipher: FieldCipher(master: master, previous: configuration.previousEncryptionKey), instance: instance,
                    auditEverything: configuration.auditEverything, logger: logger
                )), master: master, instance: instance)
            }
        } catch {
            logger.critical("cannot open the database", metadata: ["error": "\(error.message)"])
            throw ExitCode(error.code == .incompatibleSchema || error.code == .wrongKey ? 78 : 1)
        }
    }
}
