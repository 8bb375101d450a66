/// What the store counted for an `AnalyticsQuery`, every figure an aggregate computed by the
/// database; the report turns them into rates, percentiles and a series.
public struct AnalyticsFigures: Sendable, Equatable {
    /// One percentile of a latency, in milliseconds, with how many values it was taken from.
    public struct Percentile: Sendable, Equatable {
        public var channel: String
        /// `queued_to_sent` or `sent_to_delivered`.
        public var measure: String
        /// 50, 95 or 99.
        public var percent: Int
        public var milliseconds: Int64
        public var count: Int

        public init(channel: String, measure: String, percent: Int, milliseconds: Int64, count: Int) {
            self.channel = channel
            self.measure = measure
            self.percent = percent
            self.milliseconds = milliseconds
            self.count = count
        }
    }

    /// Communications that went out on another channel than the one first tried.
    public struct Fallback: Sendable, Equatable {
        public var from: String
        public var to: String
        public var count: Int

        public init(from: String, to: String, count: Int) {
            self.from = from
            self.to = to
            self.count = count
        }
    }

    /// Failed attempts of one provider with one failure category.
    public struct Failure: Sendable, Equatable {
        public var provider: String
        public var category: String
        public var count: Int

        public init(provider: String, category: String, count: Int) {
            self.provider = provider
            self.category = category
            self.count = count
        }
    }

    /// `client.opted_out` events of one channel and source.
    public struct OptOut: Sendable, Equatable {
        public var channel: String
        public var source: String
        public var count: Int

        public init(channel: String, source: String, count: Int) {
            self.channel = channel
            self.source = source
            self.count = count
        }
    }

    /// Inbound replies tied to communications of one message type: how many, and how many
    /// communications got at least one.
    public struct Replies: Sendable, Equatable {
        public var replies: Int
        public var responded: Int

        public init(replies: Int, responded: Int) {
            self.replies = replies
            self.responded = responded
        }
    }

    /// How long a communication may wait past its due time to be sent, and an SMS or WhatsApp
    /// message may wait for its delivery receipt, before the report calls it stalled.
    public static let stalledUnsentSeconds = 3_600
    public static let stalledUndeliveredSeconds = 86_400

    public var total = AnalyticsTally()
    public var byChannel: [String: AnalyticsTally] = [:]
    public var byMessageType: [String: AnalyticsTally] = [:]
    public var byProvider: [String: AnalyticsTally] = [:]
    public var byStatus: [String: Int] = [:]
    public var percentiles: [Percentile] = []
    public var fallbacks: [Fallback] = []
    /// Attempts on a channel after the communication's first attempt on it.
    public var retries = 0
    public var failures: [Failure] = []
    /// Communications still in flight long past the usual time for their channel, by channel.
    public var stalled: [String: Int] = [:]
    public var optOuts: [OptOut] = []
    /// By the message type of the communication replied to.
    public var replies: [String: Replies] = [:]
    /// Tallies by the quarter hour (UTC, milliseconds since 1970 / 900,000) the communications
    /// were accepted in: any time zone's hours, days and weeks are unions of them.
    public var quarters: [Int64: AnalyticsTally] = [:]

    public init() {}
}
