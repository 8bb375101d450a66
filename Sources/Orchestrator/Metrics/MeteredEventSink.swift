/// Counts every status change on its way to the workflow: each is announced exactly once, by the
/// sidecar that accepted the communication, so the counts across sidecars add up.
package struct MeteredEventSink: EngineEventSink {
    private let next: any EngineEventSink
    private let metrics: DeliveryMetrics

    package init(_ next: any EngineEventSink, metrics: DeliveryMetrics = DeliveryMetrics()) {
        self.next = next
        self.metrics = metrics
    }

    package func publish(_ event: EngineEvent) async {
        if case .status(let change) = event { metrics.changed(change) }
        await next.publish(event)
    }
}
