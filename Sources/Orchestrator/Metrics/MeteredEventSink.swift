package import CRMModel
package import Foundation

/// Counts every status change on its way to the workflow: each is announced exactly once, by the
/// sidecar that accepted the communication, so the counts across sidecars add up.
///
/// A change is counted under its communication's message type, never under a made-up one: when
/// the change does not carry it (one forwarded by another sidecar loses it on the way),
/// `communication` reads it from the store; without an answer the change is not counted.
package struct MeteredEventSink: EngineEventSink {
    private let next: any EngineEventSink
    private let metrics: DeliveryMetrics
    private let openRate: OpenRate
    private let communication: @Sendable (UUID) async -> Communication?

    package init(
        _ next: any EngineEventSink, metrics: DeliveryMetrics = DeliveryMetrics(), openRate: OpenRate = OpenRate(),
        communication: @escaping @Sendable (UUID) async -> Communication? = { _ in nil }
    ) {
        self.next = next
        self.metrics = metrics
        self.openRate = openRate
        self.communication = communication
    }

    package func publish(_ event: EngineEvent) async {
        // Counted first, so a scrape after the workflow heard of a change finds it counted.
        if case .status(let change) = event { await count(change) }
        await next.publish(event)
    }

    private func count(_ change: StatusChange) async {
        var stored: Communication?
        if change.messageType == nil || OpenRate.needsSentTime(change) {
            stored = await communication(change.communicationID)
        }
        guard let messageType = change.messageType ?? stored?.messageType else { return }
        metrics.changed(change, messageType: messageType)
        let sentAt = stored?.events.last { $0.status == .sent && $0.channel == .email }?.at
        if let rate = openRate.count(change, of: messageType, sentAt: sentAt) {
            metrics.openRate(rate, for: messageType)
        }
    }
}
