/// Everything the PDF report and the dashboard draw, already reduced to labels and numbers, so the
/// renderers know nothing of the project's own types.
public struct ReportDocument: Sendable, Equatable {
    /// A rate shown beside its target, e.g. "Delivery rate" 0.962 against 0.95, met.
    public struct Headline: Sendable, Equatable {
        public var label: String
        /// A rate, 0...1.
        public var value: Double
        /// The rate aimed at, 0...1; nil when there is none.
        public var target: Double?
        /// Whether the target was met; decided by the caller because for some rates (bounces,
        /// failures) lower is better. Nil shows the rate without a met/missed mark.
        public var met: Bool?

        public init(label: String, value: Double, target: Double? = nil, met: Bool? = nil) {
            self.label = label
            self.value = value
            self.target = target
            self.met = met
        }
    }

    /// A total, e.g. "Sent" 12 345.
    public struct Count: Sendable, Equatable {
        public var label: String
        public var value: Int

        public init(label: String, value: Int) {
            self.label = label
            self.value = value
        }
    }

    /// One group of a grouped bar chart, e.g. the "email" channel.
    public struct Bar: Sendable, Equatable {
        public var label: String
        /// Rates 0...1, in the order of `ReportDocument.barSeries`.
        public var values: [Double]

        public init(label: String, values: [Double]) {
            self.label = label
            self.values = values
        }
    }

    /// One point of the daily series, e.g. "Nov 3".
    public struct Point: Sendable, Equatable {
        public var label: String
        public var sent: Int
        public var delivered: Int

        public init(label: String, sent: Int, delivered: Int) {
            self.label = label
            self.sent = sent
            self.delivered = delivered
        }
    }

    /// A table of preformatted cells; cells that look numeric are right-aligned.
    public struct Table: Sendable, Equatable {
        public var title: String
        public var columns: [String]
        /// Each row in the order of `columns`; missing cells are drawn empty, extra ones dropped.
        public var rows: [[String]]

        public init(title: String, columns: [String], rows: [[String]]) {
            self.title = title
            self.columns = columns
            self.rows = rows
        }
    }

    public var title: String
    /// The period covered, as it should be read, e.g. "1–30 Nov 2026, Europe/Paris".
    public var period: String
    public var generatedAt: String
    public var headlines: [Headline]
    public var counts: [Count]
    /// The names of the bars in each group, e.g. ["Delivery", "Open", "Click"].
    public var barSeries: [String]
    public var byChannel: [Bar]
    public var byMessageType: [Bar]
    public var daily: [Point]
    public var tables: [Table]

    public init(
        title: String,
        period: String,
        generatedAt: String,
        headlines: [Headline],
        counts: [Count],
        barSeries: [String],
        byChannel: [Bar],
        byMessageType: [Bar],
        daily: [Point],
        tables: [Table]
    ) {
        self.title = title
        self.period = period
        self.generatedAt = generatedAt
        self.headlines = headlines
        self.counts = counts
        self.barSeries = barSeries
        self.byChannel = byChannel
        self.byMessageType = byMessageType
        self.daily = daily
        self.tables = tables
    }
}
