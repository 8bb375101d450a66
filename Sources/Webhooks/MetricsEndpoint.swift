import Foundation
import Hummingbird
import Logging
import Orchestrator
import Prometheus

/// `GET /metrics` in Prometheus' text format; the queue size is read from the store at each scrape.
struct MetricsEndpoint: Sendable {
    var registry: PrometheusCollectorRegistry
    var queueSize: @Sendable () async -> Int?
    var metrics: DeliveryMetrics

    func handle() async -> Response {
        if let size = await queueSize() { metrics.queueSize(size) }
        return Responses.text(registry.emitToString(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
}
