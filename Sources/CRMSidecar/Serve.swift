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
import Webhooks

/// Runs the sidecar: reads requests on stdin until it ends or SIGTERM/SIGINT arrives, then finishes
/// what is in flight and exits 0.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve JSON-RPC on stdin/stdout (the default).")

    func run() async throws {
        // A reader that went away must not kill the process mid-write; the write fails instead.
        signal(SIGPIPE, SIG_IGN)
        let (configuration, logger) = try Startup.configure()

        // The templates are parsed on another thread of the pool, when a core is free for it, while
        // this one opens the store: the workflow waits for the first answer.
        async let parsed = TemplateRenderer(overrides: configuration.templatesDirectory, smsMaxSegments: configuration.smsMaxSegments)
        let opened = try Startup.open(configuration, logger: logger)
        let store = opened.store
        let renderer: TemplateRenderer
        do {
            renderer = try await parsed
        } catch {
            logger.critical("cannot load templates", metadata: ["error": "\(error)"])
            throw ExitCode(78)
        }
        // Without PUBLIC_BASE_URL, links name the address the side port binds (WEBHOOK_PORT=0 takes
        // any free port): right for local work; a public deployment sets PUBLIC_BASE_URL.
        let links = EmailLinks(
            baseURL: configuration.publicBaseURL, key: opened.master.linkSigning,
            previousKey: configuration.previousEncryptionKey?.linkSigning, followsBoundAddress: !configuration.publicBaseURLIsSet
        )
        let providers = Providers.make(configuration, links: links, logger: logger)
        let registry = MetricsBootstrap.bootstrap(providers: providers.names.values.flatMap { $0 })
        let notifications = NotificationSink()
        // Every status change is counted on its way to the workflow.
        let events = MeteredEventSink(notifications, communication: { try? await store.communication(id: $0) })
        let leasing = WorkLeasing(duration: configuration.leaseDuration)
        let health = ProviderHealth()
        // One cache for the engine, the send loop and the side port: an opt-out saved by any of them
        // counts for the next send. PostgreSQL tells every sidecar of every save, so entries may be
        // kept longer there; nothing tells another process of a save to an SQLite file.
        let policy = configuration.policy
        let consent = ConsentCache(store: store, freshness: opened.service == nil ? 1 : 30, defaults: { policy.defaultPreferences(for: $0) })
        let rules = DeliveryMachine.Rules(policy: configuration.policy)
        let delivery = Delivery(
            store: store, providers: providers, renderer: renderer, events: events, leasing: leasing, health: health,
            rateLimiter: RateLimiter(limits: configuration.policy.rateLimits), consent: consent, rules: rules,
            now: { Date() }, logger: logger
        )
        let sendLoop = SendLoop(
            store: store, delivery: delivery, leasing: leasing, concurrency: configuration.sendConcurrency,
            pollInterval: configuration.pollInterval, ready: { try await opened.prepare() }, logger: logger
        )
        let sidePortStatus = SidePortStatus()
        let engine = Engine(
            store: store, strategy: Strategy(policy: configuration.policy), delivery: delivery, sendLoop: sendLoop, events: events,
            leasing: leasing, renderer: renderer, providers: providers, health: health, consent: consent,
            sidePort: sidePortStatus, logger: logger
        )
        let compliance = Compliance.make(configuration, store: store, events: events, logger: logger)
        let intake = EventIntake(store: store, events: events, consent: consent, logger: logger)
        let analytics = Analytics(store: store, targets: configuration.policy.analyticsTargets, logger: logger)
        let webhooks = WebhookServer(
            settings: configuration.webhooks, links: links, intake: intake, registry: registry,
            health: { await engine.health().status }, queueSize: { try? await store.queueSize() },
            databaseConnections: { try? await store.connectionCount() }, dashboard: { days in try? await analytics.dashboard(days: days) },
            attachments: { id in try await store.attachments(of: id) }, status: sidePortStatus, logger: logger
        )
        let server = RPCServer(
            methods: .standard,
            context: MethodContext(
                engine: engine, compliance: compliance,
                analytics: analytics,
                version: CRMSidecar.version, startedAt: Date()
            ),
            notifications: notifications,
            limits: RPCServer.Limits(
                maxLineLength: configuration.maxLineBytes, maxInFlight: configuration.maxInFlight, waitWhenFull: configuration.waitWhenFull
            ),
            shutdownGrace: configuration.shutdownGrace,
            finishStartedWork: { limit in await sendLoop.finishStartedWork(within: limit) },
            logger: logger
        )
        // Services stop in reverse order: the server finishes its requests, then the send loop the
        // sends it was handed, then the store closes. Each is named: without a name ServiceGroup
        // describes the service by reflection, its whole object graph, which took a tenth of the
        // time to start.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let storeService = opened.service {
            services.append(.init(service: storeService, serviceName: "store"))
        }
        services.append(.init(service: sendLoop, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "send loop"))
        services.append(.init(service: webhooks, serviceName: "side port"))
        // Ends at once with SQLite (one process has nothing forwarded to it), which ends nothing else.
        services.append(.init(service: ForwardedEvents(intake: intake), successTerminationBehavior: .ignore, serviceName: "forwarded events"))
        services.append(.init(service: PreferencesNotices(consent: consent), successTerminationBehavior: .ignore, serviceName: "preferences notices"))
        services.append(.init(service: RetentionPurges(compliance: compliance, ready: { try await opened.prepare() }, logger: logger), serviceName: "retention purges"))
        services.append(.init(
            service: SidecarService(store: opened, server: server, sidePort: sidePortStatus, version: CRMSidecar.version, logger: logger),
            // End of stdin ends the server, and with it the whole sidecar.
            successTerminationBehavior: .gracefullyShutdownGroup,
            failureTerminationBehavior: .gracefullyShutdownGroup,
            serviceName: "JSON-RPC server"
        ))
        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
        )
        // A stop must end even while the database is away: a send that cannot record its outcome
        // keeps retrying until its lease runs out, longer than whoever stops us will wait. Past the
        // grace, what is unfinished is cancelled and left to its lease, so nothing accepted is lost.
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownGrace
        let group = ServiceGroup(configuration: groupConfiguration)
        logger.info("crm-sidecar starting", metadata: ["version": "\(CRMSidecar.version)"])
        do {
            try await group.run()
        } catch let error as StoreError {
            throw ExitCode(error.code == .incompatibleSchema || error.code == .wrongKey ? 78 : 1)
        }
        logger.info("crm-sidecar stopped")
    }
}
