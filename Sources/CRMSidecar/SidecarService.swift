import CRMModel
import Logging
import Orchestrator
import Persistence
import RPC
import ServiceLifecycle

/// Prepares the store, waits for the side port to bind (or fail to), then serves: no request is read
/// before the schema is up to date, and the first line on stdout is `sidecar.ready`, so a client knows
/// when to start without polling.
struct SidecarService: Service {
    var store: OpenedStore
    var server: RPCServer
    var sidePort: SidePortStatus
    var version: String
    var logger: Logger

    func run() async throws {
        do {
            try await store.prepare()
        } catch {
            logger.critical("cannot prepare the database", metadata: ["error": "\(error.message)"])
            throw error
        }
        let webhooks: JSONValue = switch await sidePort.settled(within: .seconds(5)) {
        case .listening(let address): .object(["status": .string("listening"), "address": .string(address)])
        case .failed(let reason): .object(["status": .string("failed"), "error": .string(reason)])
        case .starting: .object(["status": .string("starting")])
        }
        logger.info("crm-sidecar ready")
        try await server.run(ready: RPCNotification(method: "sidecar.ready", params: .object([
            "version": .string(version), "instance": .string(store.instance), "store": .string(store.kind), "webhooks": webhooks,
        ])))
    }
}
