package import Channels
package import CRMModel
package import Foundation
import Hummingbird
package import Logging
import NIOCore
package import Orchestrator
package import Prometheus
import ServiceLifecycle

/// The side port: an HTTP listener (Hummingbird) for what comes back from providers and readers,
/// started with the sidecar and stopped with it after the requests in flight.
///
/// Nothing a request carries can stop the sidecar: bodies are read up to a limit (413 beyond),
/// unknown paths get 404, and a listener that cannot bind leaves the sidecar running, degraded, with
/// the reason in `health`.
package struct WebhookServer: Service {
    private let settings: WebhookSettings
    private let routes: @Sendable () -> Router<BasicRequestContext>
    private let status: SidePortStatus
    private let links: EmailLinks
    private let logger: Logger

    package init(
        settings: WebhookSettings, links: EmailLinks, intake: EventIntake, registry: PrometheusCollectorRegistry,
        health: @escaping @Sendable () async -> HealthReport.Status, queueSize: @escaping @Sendable () async -> Int?,
        databaseConnections: @escaping @Sendable () async -> Int?, dashboard: @escaping @Sendable (_ days: Int) async -> String?,
        attachments: @escaping @Sendable (UUID) async throws -> [Attachment] = { _ in [] }, status: SidePortStatus, logger: Logger
    ) {
        self.settings = settings
        self.status = status
        self.links = links
        self.logger = logger
        let twilio = TwilioWebhook(
            signature: settings.twilioAuthToken.map(TwilioSignature.init(authToken:)), publicBaseURL: settings.publicBaseURL,
            maxBodyBytes: settings.maxBodyBytes, intake: intake, logger: logger
        )
        let whatsApp = WhatsAppWebhook(
            signature: settings.whatsAppAppSecret.map(WhatsAppSignature.init(appSecret:)), verifyToken: settings.whatsAppVerifyToken,
            maxBodyBytes: settings.maxBodyBytes, intake: intake, logger: logger
        )
        let email = EmailTrackingRoutes(links: links, intake: intake, logger: logger)
        let files = AttachmentRoutes(links: links, attachments: attachments, logger: logger)
        let metrics = MetricsEndpoint(registry: registry, queueSize: queueSize, databaseConnections: databaseConnections)
        let dashboardRoutes = DashboardRoutes(
            token: settings.dashboardToken, secureCookie: settings.publicBaseURL.lowercased().hasPrefix("https:"), page: dashboard
        )

        // Hummingbird's router is not Sendable; it is built where it runs.
        routes = {
        let router = Router(context: BasicRequestContext.self)
        router.post("/webhooks/twilio") { request, _ in try await twilio.handle(request) }
        router.get("/webhooks/whatsapp") { request, _ in whatsApp.verify(request) }
        router.post("/webhooks/whatsapp") { request, _ in try await whatsApp.handle(request) }
        router.get("/email/open/:token") { request, context in
            await email.open(request, token: context.parameters.get("token") ?? "")
        }
        router.get("/email/click/:token") { request, context in
            await email.click(request, token: context.parameters.get("token") ?? "")
        }
        router.get("/email/unsubscribe/:token") { request, context in
            email.confirmUnsubscribe(request, token: context.parameters.get("token") ?? "")
        }
        router.post("/email/unsubscribe/:token") { request, context in
            await email.unsubscribe(request, token: context.parameters.get("token") ?? "")
        }
        router.get("/attachments/:token/:position/:expires/:name") { request, context in
            await files.serve(request, parameters: context.parameters)
        }
        router.get("/dashboard") { request, _ in await dashboardRoutes.handle(request) }
        router.get("/metrics") { _, _ in await metrics.handle() }
        router.head("/metrics") { _, _ in await metrics.head() }
        router.get("/health") { _, _ in
            let state = await health()
            return Responses.text(#"{"status":"\#(state.rawValue)"}"#, status: state == .ok ? .ok : .serviceUnavailable, contentType: "application/json")
        }
        return router
        }
    }

    package func run() async throws {
        let (status, links, logger) = (self.status, self.links, self.logger)
        let application = Application(
            router: routes(),
            // Idle keep-alive connections are closed after a minute, so they cannot pile up.
            server: .http1(configuration: .init(idleTimeout: .seconds(60))),
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: "crm-sidecar"),
            onServerRunning: { channel in
                let address = channel.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
                if let bound = channel.localAddress, let host = bound.ipAddress, let port = bound.port {
                    links.sidePortBound(host: host, port: port)
                }
                status.update(.listening(address))
                logger.info("side port listening", metadata: ["webhooks.address": "\(address)"])
            },
            eventLoopGroupProvider: .shared(SidePortExecutor.shared.eventLoops),
            logger: logger
        )
        do {
            // Child tasks inherit the preference: every connection's handler runs on the side port's
            // thread (see SidePortExecutor).
            try await withTaskExecutorPreference(SidePortExecutor.shared) {
                try await application.run()
            }
        } catch {
            // Most likely the port is taken. Sending still works; receipts wait until it is fixed.
            let reason = "cannot listen on \(settings.host):\(settings.port): \(error)"
            status.update(.failed(reason))
            logger.critical("the side port is down; delivery receipts, opens and opt-outs cannot arrive", metadata: ["error": "\(reason)"])
            try? await gracefulShutdown()
        }
    }
}
