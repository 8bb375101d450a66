import CoreMetrics
import Orchestrator
import Prometheus

/// The swift-metrics backend of the executable: Prometheus, with each family's HELP text and
/// histogram buckets from `DocumentedMetric`.
///
/// Swift-prometheus' own factory makes every metric without HELP, which `promtool check metrics`
/// rejects, and its registry refuses (fatally) one name with two HELP texts; so every metric of the
/// process is made here, one way. A name we do not document (a library's, say) is still exposed,
/// under a HELP that says so, rather than dropped.
struct DocumentedMetricsFactory: MetricsFactory {
    private let registry: PrometheusCollectorRegistry
    /// Removes metrics, and gives the buckets of names we do not document.
    private let fallback: PrometheusMetricsFactory

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        self.fallback = PrometheusMetricsFactory(registry: registry)
    }

    /// The name as it is, with its HELP text (the unit is part of our names already).
    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: label, unitName: "", helpText: DocumentedMetric.named(label)?.help ?? "Not one of crm-sidecar's documented metrics."
        )
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        let buckets = fallback.valueHistogramBuckets[label] ?? fallback.defaultValueHistogramBuckets
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        var buckets = fallback.defaultDurationHistogramBuckets
        if case .histogram(let documented) = DocumentedMetric.named(label)?.kind { buckets = documented }
        return registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    func destroyCounter(_ handler: any CounterHandler) { fallback.destroyCounter(handler) }
    func destroyMeter(_ handler: any MeterHandler) { fallback.destroyMeter(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { fallback.destroyFloatingPointCounter(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { fallback.destroyRecorder(handler) }
    func destroyTimer(_ handler: any TimerHandler) { fallback.destroyTimer(handler) }
}
