import Logging
import Persistence
import RPC
import ServiceLifecycle

/// Prepares the store, then serves: no request is read before the schema is up to date.
struct SidecarService: Service {
    var store: OpenedStore
    var server: RPCServer
    var logger: Logger

    func run() async throws {
        do {
            try await store.prepare()
        } catch {
            logger.critical("cannot prepare the database", metadata: ["error": "\(error.message)"])
            throw error
        }
        logger.info("crm-sidecar ready")
        try await server.run()
    }
}
