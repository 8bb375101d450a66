import ArgumentParser
import Channels
import CRMModel
import Foundation
import Logging
import Orchestrator
import Persistence
import RPC
import ServiceLifecycle
import UnixSignals

/// Runs the sidecar: reads requests on stdin until it ends or SIGTERM/SIGINT arrives, then finishes
/// what is in flight and exits 0.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve JSON-RPC on stdin/stdout (the default).")

    func run() async throws {
        // A reader that went away must not kill the process mid-write; the write fails instead.
        signal(SIGPIPE, SIG_IGN)
        let (configuration, logger) = try Startup.configure()

        let store = try Startup.open(configuration, logger: logger)
        let renderer: TemplateRenderer
        do {
            renderer = try TemplateRenderer(overrides: configuration.templatesDirectory)
        } catch {
            logger.critical("cannot load templates", metadata: ["error": "\(error)"])
            throw ExitCode(78)
        }
        let providers = ProviderRegistry(Channel.allCases.map { channel in
            logger.notice(
                "no credentials for this channel; its messages are written to the outbox folder",
                metadata: ["channel": "\(channel.rawValue)", "outbox": "\(configuration.outboxDirectory.path)"]
            )
            return OutboxProvider(channel: channel, directory: configuration.outboxDirectory, sender: configuration.sender)
        })
        let notifications = NotificationSink()
        let engine = Engine(
            store: store,
            strategy: Strategy(),
            delivery: Delivery(
                store: store, providers: providers, renderer: renderer, events: notifications,
                now: { Date() }, logger: logger
            ),
            events: notifications,
            logger: logger
        )
        let server = RPCServer(
            methods: .standard,
            context: MethodContext(engine: engine, version: CRMSidecar.version, startedAt: Date()),
            notifications: notifications,
            limits: RPCServer.Limits(maxLineLength: configuration.maxLineBytes, maxInFlight: configuration.maxInFlight),
            logger: logger
        )
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                // End of stdin ends the server, and with it the whole sidecar.
                .init(service: server, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        logger.info("crm-sidecar ready", metadata: ["version": "\(CRMSidecar.version)"])
        try await group.run()
        logger.info("crm-sidecar stopped")
    }
}
