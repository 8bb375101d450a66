import Metrics
import Orchestrator
import Prometheus

/// Makes Prometheus the process's swift-metrics backend, once, before anything counts.
enum MetricsBootstrap {
    /// The registry `/metrics` serves, with every documented series already there at zero; `providers`
    /// are the provider names the configuration chose, the known values of `crm_api_errors_total{api}`.
    static func bootstrap(providers: [String]) -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(DocumentedMetricsFactory(registry: registry))
        DeliveryMetrics().seed(providers: providers)
        return registry
    }
}
