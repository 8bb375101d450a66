import CoreMetrics
package import CRMModel
package import Foundation

/// The seed's metrics, through swift-metrics (the executable bootstraps a Prometheus backend; tests
/// run without one, and these calls do nothing then).
///
/// - `crm_communications_total{message_type, channel, status}`: every announced status change.
/// - `crm_delivery_time_seconds{channel}`: from `sent` to the provider's `delivered`.
/// - `crm_api_errors_total{api, error_type}`: failed provider calls, by provider and error category.
/// - `crm_retry_attempts_total{channel}`: sends put off for a retry.
/// - `crm_fallback_used_total{from_channel, to_channel}`: messages sent on another channel than the first choice.
/// - `crm_queue_size`: communications waiting to be sent, read from the store when scraped.
package struct DeliveryMetrics: Sendable {
    package init() {}

    package func changed(_ change: StatusChange) {
        Counter(label: "crm_communications_total", dimensions: [
            ("message_type", change.messageType?.rawValue ?? "unknown"),
            ("channel", change.channel?.rawValue ?? "none"),
            ("status", change.status.rawValue),
        ]).increment()
    }

    package func delivered(on channel: Channel, after seconds: TimeInterval) {
        guard seconds >= 0 else { return }
        Timer(label: "crm_delivery_time_seconds", dimensions: [("channel", channel.rawValue)])
            .recordNanoseconds(Int64(seconds * 1_000_000_000))
    }

    package func apiError(api: String, errorType: String) {
        Counter(label: "crm_api_errors_total", dimensions: [("api", api), ("error_type", errorType)]).increment()
    }

    package func retry(on channel: Channel) {
        Counter(label: "crm_retry_attempts_total", dimensions: [("channel", channel.rawValue)]).increment()
    }

    package func fallback(from first: Channel, to used: Channel) {
        Counter(label: "crm_fallback_used_total", dimensions: [("from_channel", first.rawValue), ("to_channel", used.rawValue)]).increment()
    }

    package func queueSize(_ size: Int) {
        Gauge(label: "crm_queue_size").record(size)
    }
}
