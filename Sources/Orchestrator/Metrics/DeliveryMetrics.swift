import CoreMetrics
package import CRMModel
package import Foundation

/// The seed's metrics, through swift-metrics: the executable bootstraps a Prometheus backend that
/// takes each family's HELP text from `DocumentedMetric`; tests run without one, and these calls do
/// nothing then. Being a facade, any instance counts into the one backend, so call sites may make
/// their own.
///
/// - `crm_communications_total{message_type, channel, status}`: every announced status change.
/// - `crm_delivery_time_seconds{channel}`: from `sent` to the provider's `delivered`.
/// - `crm_api_errors_total{api, error_type}`: failed provider calls, by provider and error category.
/// - `crm_retry_attempts_total{channel}`: sends put off for a retry.
/// - `crm_fallback_used_total{from_channel, to_channel}`: messages sent on another channel than the first choice.
/// - `crm_queue_size`: communications waiting to be sent, read from the store when scraped.
/// - `crm_open_rate{message_type}`: the share of emails accepted since start that were opened (`OpenRate`).
/// - `crm_database_connections`: the store's open connections, read when scraped.
///
/// Every series with known label values is there from start, at zero (`seed(providers:)`).
package struct DeliveryMetrics: Sendable {
    package init() {}

    /// `change`, of a communication of `messageType` (which the change may not carry itself).
    package func changed(_ change: StatusChange, messageType: MessageType) {
        Counter(
            label: DocumentedMetric.communications.name,
            dimensions: Self.communicationLabels(messageType: messageType, channel: change.channel, status: change.status)
        ).increment()
    }

    package func delivered(on channel: Channel, after seconds: TimeInterval) {
        guard seconds >= 0 else { return }
        Timer(label: DocumentedMetric.deliveryTime.name, dimensions: Self.channelLabels(channel))
            .recordNanoseconds(Int64(seconds * 1_000_000_000))
    }

    package func apiError(api: String, errorType: String) {
        Counter(label: DocumentedMetric.apiErrors.name, dimensions: Self.apiErrorLabels(api: api, errorType: errorType)).increment()
    }

    package func retry(on channel: Channel) {
        Counter(label: DocumentedMetric.retryAttempts.name, dimensions: Self.channelLabels(channel)).increment()
    }

    package func fallback(from first: Channel, to used: Channel) {
        Counter(label: DocumentedMetric.fallbackUsed.name, dimensions: Self.fallbackLabels(from: first, to: used)).increment()
    }

    /// nil when the store could not answer: NaN, rather than a stale count passed off as current.
    package func queueSize(_ size: Int?) {
        Gauge(label: DocumentedMetric.queueSize.name).record(size.map(Double.init) ?? .nan)
    }

    package func openRate(_ rate: Double, for messageType: MessageType) {
        Gauge(label: DocumentedMetric.openRate.name, dimensions: Self.messageTypeLabels(messageType)).record(rate)
    }

    /// nil when the store cannot tell: NaN, so no dashboard mistakes "unknown" for "none".
    package func databaseConnections(_ count: Int?) {
        Gauge(label: DocumentedMetric.databaseConnections.name).record(count.map(Double.init) ?? .nan)
    }

    // The registry tells series apart by their labels in order, so each family's are built in one place.

    static func communicationLabels(messageType: MessageType, channel: Channel?, status: CommunicationStatus) -> [(String, String)] {
        [("message_type", messageType.rawValue), ("channel", channel?.rawValue ?? "none"), ("status", status.rawValue)]
    }

    static func channelLabels(_ channel: Channel) -> [(String, String)] {
        [("channel", channel.rawValue)]
    }

    static func apiErrorLabels(api: String, errorType: String) -> [(String, String)] {
        [("api", api), ("error_type", errorType)]
    }

    static func fallbackLabels(from first: Channel, to used: Channel) -> [(String, String)] {
        [("from_channel", first.rawValue), ("to_channel", used.rawValue)]
    }

    static func messageTypeLabels(_ messageType: MessageType) -> [(String, String)] {
        [("message_type", messageType.rawValue)]
    }
}
