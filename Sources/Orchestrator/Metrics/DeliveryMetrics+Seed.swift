import CoreMetrics
import CRMModel

extension DeliveryMetrics {
    /// Creates, at zero, every series whose label values are known at start, so a dashboard or an
    /// alert sees `0` rather than nothing before the first event (`rate()` and `absent()` need the
    /// series to exist). What is created is bounded and documented in the README:
    ///
    /// - communications: each message type × the status/channel pairs a change can carry
    ///   (`channels(announcing:)`), 22 a type;
    /// - delivery time and retries: each channel;
    /// - api errors: each of `providers` (the names the configuration chose) × each failure category;
    /// - fallbacks: each ordered pair of distinct channels;
    /// - open rate: each message type; queue size and database connections: one series each.
    package func seed(providers: [String]) {
        for messageType in MessageType.allCases {
            for status in CommunicationStatus.allCases {
                for channel in Self.channels(announcing: status) {
                    _ = Counter(
                        label: DocumentedMetric.communications.name,
                        dimensions: Self.communicationLabels(messageType: messageType, channel: channel, status: status)
                    )
                }
            }
            openRate(0, for: messageType)
        }
        for channel in Channel.allCases {
            _ = Timer(label: DocumentedMetric.deliveryTime.name, dimensions: Self.channelLabels(channel))
            _ = Counter(label: DocumentedMetric.retryAttempts.name, dimensions: Self.channelLabels(channel))
            for used in Channel.allCases where used != channel {
                _ = Counter(label: DocumentedMetric.fallbackUsed.name, dimensions: Self.fallbackLabels(from: channel, to: used))
            }
        }
        for api in Set(providers).sorted() {
            for category in FailureCategory.allCases {
                _ = Counter(label: DocumentedMetric.apiErrors.name, dimensions: Self.apiErrorLabels(api: api, errorType: category.rawValue))
            }
        }
        queueSize(0)
        databaseConnections(nil)
    }

    /// The channels (nil: `none`) a change to `status` is announced with. Before a send there is no
    /// channel; a communication cancelled, or failed by the sidecar after its channels, ends as a whole;
    /// a provider's receipt (including a late failure) names its channel. `pending` is never announced.
    static func channels(announcing status: CommunicationStatus) -> [Channel?] {
        switch status {
        case .pending: []
        case .scheduled, .queued, .cancelled: [nil]
        case .sent, .delivered, .opened, .clicked, .bounced: Channel.allCases
        case .failed: Channel.allCases + [nil]
        }
    }
}
