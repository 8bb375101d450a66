/// One of the sidecar's metric families as `/metrics` describes it: its name, kind and HELP text.
///
/// The swift-metrics facade knows only names and labels; the executable's metrics factory looks the
/// rest up here, so a family's description lives next to the code that counts it and Prometheus'
/// linter (`promtool check metrics`) finds HELP and TYPE for every family.
package struct DocumentedMetric: Sendable {
    package enum Kind: Sendable {
        case counter
        case gauge
        case histogram(buckets: [Duration])
    }

    package let name: String
    package let kind: Kind
    package let help: String

    package static let communications = DocumentedMetric(
        name: "crm_communications_total", kind: .counter,
        help: "Status changes announced to the workflow, by message type, new status and the channel it happened on "
            + "(none before a send, and when a communication ends as a whole rather than on one channel)."
    )
    /// Buckets from a second to an hour: the usual defaults stop at ten seconds, and SMS and
    /// WhatsApp receipts often take longer.
    package static let deliveryTime = DocumentedMetric(
        name: "crm_delivery_time_seconds", kind: .histogram(buckets: [1, 5, 15, 30, 60, 120, 300, 900, 3600].map { .seconds($0) }),
        help: "Seconds from sent to the provider's delivered receipt, by channel (email has no delivery receipt)."
    )
    package static let apiErrors = DocumentedMetric(
        name: "crm_api_errors_total", kind: .counter,
        help: "Provider calls that failed, by provider (api) and failure category (error_type)."
    )
    package static let retryAttempts = DocumentedMetric(
        name: "crm_retry_attempts_total", kind: .counter,
        help: "Sends put off to be tried again later on the same channel, by channel."
    )
    package static let fallbackUsed = DocumentedMetric(
        name: "crm_fallback_used_total", kind: .counter,
        help: "Messages sent on another channel than the first one tried, by that first channel and the channel used."
    )
    package static let queueSize = DocumentedMetric(
        name: "crm_queue_size", kind: .gauge,
        help: "Communications waiting to be sent (queued or scheduled), read from the store at each scrape; NaN when the store cannot answer."
    )
    package static let openRate = DocumentedMetric(
        name: "crm_open_rate", kind: .gauge,
        help: "Of the emails the mail relay accepted since this sidecar started, the share opened or clicked since, by message type; "
            + "0 until one is accepted."
    )
    package static let databaseConnections = DocumentedMetric(
        name: "crm_database_connections", kind: .gauge,
        help: "Connections this sidecar holds open to its database (SQLite: its one writer), read at each scrape; NaN while the database does not answer."
    )

    package static let all: [DocumentedMetric] = [
        communications, deliveryTime, apiErrors, retryAttempts, fallbackUsed, queueSize, openRate, databaseConnections,
    ]

    package static func named(_ name: String) -> DocumentedMetric? {
        all.first { $0.name == name }
    }
}
