extension ReportRenderer {
    /// A chart the dashboard can ask for on its own.
    public enum Chart: Sendable, CaseIterable {
        /// Delivery, open and click rates per channel.
        case byChannel
        /// The same rates per message type.
        case byMessageType
        /// Sent and delivered per point of the series.
        case daily

        /// The chart's heading, on the PDF page and on the dashboard.
        var title: String {
            switch self {
            case .byChannel: "Rates by channel"
            case .byMessageType: "Rates by message type"
            case .daily: "Sent and delivered"
            }
        }
    }
}
