package import CRMModel

/// A rate the planner expects a channel (or every channel) to reach, shown beside the actual one.
package struct AnalyticsTarget: Sendable, Equatable {
    package enum Metric: String, Sendable, CaseIterable {
        case deliveryRate = "delivery_rate"
        case openRate = "open_rate"
        case clickRate = "click_rate"
    }

    package var metric: Metric
    /// nil: across all channels.
    package var channel: Channel?
    /// The lowest rate that meets the target, 0 to 1.
    package var minimum: Double

    package init(metric: Metric, channel: Channel? = nil, minimum: Double) {
        self.metric = metric
        self.channel = channel
        self.minimum = minimum
    }

    /// The seed's: over 95 % delivered, over 60 % of emails opened, over 98 % of SMS delivered.
    package static let seed: [AnalyticsTarget] = [
        AnalyticsTarget(metric: .deliveryRate, minimum: 0.95),
        AnalyticsTarget(metric: .openRate, channel: .email, minimum: 0.60),
        AnalyticsTarget(metric: .deliveryRate, channel: .sms, minimum: 0.98),
    ]
}
