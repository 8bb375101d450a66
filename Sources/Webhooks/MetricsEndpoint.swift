import Foundation
import Hummingbird
import Logging
import Orchestrator
import Prometheus

/// `GET /metrics` in Prometheus' text format (and `HEAD`, for probes that only check it answers);
/// the queue size and the database connections are read from the store at each scrape.
struct MetricsEndpoint: Sendable {
    var registry: PrometheusCollectorRegistry
    var queueSize: @Sendable () async -> Int?
    var databaseConnections: @Sendable () async -> Int?
    var metrics = DeliveryMetrics()

    private static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    func handle() async -> Response {
        async let size = queueSize()
        async let connections = databaseConnections()
        metrics.queueSize(await size)
        metrics.databaseConnections(await connections)
        return Responses.text(registry.emitToString(), contentType: Self.contentType)
    }

    /// `GET`'s headers, its length included, without the body: what Hummingbird's own HEAD endpoints
    /// answer. (Not turned on for the whole router: a HEAD of an email's pixel must not open it.)
    func head() async -> Response {
        await handle().createHeadResponse()
    }
}
