package import CRMModel
package import Foundation

/// What `analytics.get` answers: the database's counts (`AnalyticsFigures`) as rates, latency
/// percentiles, a series in the caller's time zone and the policy's targets beside the actual rates.
///
/// Rates are fractions from 0 to 1, and 0 where there is nothing to divide by:
/// delivery = delivered / (sent + failed + bounced, each communication once), open = opened /
/// delivered, click = clicked / delivered, response = communications replied to / sent.
package struct AnalyticsReport: Encodable, Sendable {
    /// Counts and rates of one group of communications.
    package struct Breakdown: Encodable, Sendable, Equatable {
        var communications: Int
        var sent: Int
        var delivered: Int
        var opened: Int
        var clicked: Int
        var failed: Int
        var bounced: Int
        var deliveryRate: Double
        var openRate: Double
        var clickRate: Double
        /// By message type only: replies received, communications replied to, and their share of those sent.
        var replies: Int?
        var responded: Int?
        var responseRate: Double?

        init(_ tally: AnalyticsTally, replies: AnalyticsFigures.Replies? = nil) {
            communications = tally.communications
            sent = tally.sent
            delivered = tally.delivered
            opened = tally.opened
            clicked = tally.clicked
            failed = tally.failed
            bounced = tally.bounced
            deliveryRate = Self.rate(tally.delivered, of: tally.outcomes)
            openRate = Self.rate(tally.opened, of: tally.delivered)
            clickRate = Self.rate(tally.clicked, of: tally.delivered)
            if let replies {
                self.replies = replies.replies
                responded = replies.responded
                responseRate = Self.rate(replies.responded, of: tally.sent)
            }
        }

        static func rate(_ part: Int, of whole: Int) -> Double {
            whole == 0 ? 0 : Double(part) / Double(whole)
        }

        enum CodingKeys: String, CodingKey {
            case communications, sent, delivered, opened, clicked, failed, bounced, replies, responded
            case deliveryRate = "delivery_rate"
            case openRate = "open_rate"
            case clickRate = "click_rate"
            case responseRate = "response_rate"
        }
    }

    /// p50, p95 and p99 of one latency, in milliseconds, by nearest rank, with the number of values.
    package struct Latency: Encodable, Sendable, Equatable {
        var count: Int
        var p50: Int64?
        var p95: Int64?
        var p99: Int64?
    }

    package struct Fallback: Encodable, Sendable, Equatable {
        var from: String
        var to: String
        var count: Int
    }

    package struct Failure: Encodable, Sendable, Equatable {
        var category: String
        var count: Int
    }

    package struct Stalled: Encodable, Sendable, Equatable {
        var total: Int
        var byChannel: [String: Int]
        var unsentAfterSeconds: Int
        var undeliveredAfterSeconds: Int

        enum CodingKeys: String, CodingKey {
            case total
            case byChannel = "by_channel"
            case unsentAfterSeconds = "unsent_after_seconds"
            case undeliveredAfterSeconds = "undelivered_after_seconds"
        }
    }

    package struct OptOut: Encodable, Sendable, Equatable {
        var channel: String
        var source: String
        var count: Int
    }

    package struct Point: Encodable, Sendable, Equatable {
        var start: Date
        var breakdown: Breakdown

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyCodingKey.self)
            try container.encode(start, forKey: AnyCodingKey(stringValue: "start"))
            try breakdown.encode(to: encoder)
        }
    }

    package struct Target: Encodable, Sendable, Equatable {
        var metric: String
        var channel: String?
        var target: Double
        /// nil (null on the wire) when nothing was there to measure.
        var actual: Double?
        var met: Bool?

        enum CodingKeys: String, CodingKey {
            case metric, channel, target, actual, met
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(metric, forKey: .metric)
            try container.encodeIfPresent(channel, forKey: .channel)
            try container.encode(target, forKey: .target)
            try container.encode(actual, forKey: .actual)
            try container.encode(met, forKey: .met)
        }
    }

    var start: Date
    var end: Date
    var generatedAt: Date
    var timeZone: String
    var interval: String
    var totals: Breakdown
    var byStatus: [String: Int]
    var byChannel: [String: Breakdown]
    var byMessageType: [String: Breakdown]
    var byProvider: [String: Breakdown]
    var latency: [String: [String: Latency]]
    var fallbacks: [Fallback]
    var retries: Int
    var topFailures: [String: [Failure]]
    var stalled: Stalled
    var optOuts: [OptOut]
    var series: [Point]
    var targets: [Target]

    /// How many communications the report covers.
    package var communications: Int { totals.communications }

    /// How many failure categories `top_failures` lists per provider.
    static let topFailureCount = 5

    package init(
        _ figures: AnalyticsFigures, query: AnalyticsQuery, interval: AnalyticsInterval, timeZone: IANATimeZone,
        bucketStarts: [Date], targets: [AnalyticsTarget]
    ) {
        start = query.start
        end = query.end
        generatedAt = query.now
        self.timeZone = timeZone.identifier
        self.interval = interval.rawValue
        totals = Breakdown(figures.total)
        byStatus = Dictionary(uniqueKeysWithValues: CommunicationStatus.allCases.map { ($0.rawValue, figures.byStatus[$0.rawValue] ?? 0) })
        byChannel = figures.byChannel.mapValues { Breakdown($0) }
        byMessageType = Dictionary(uniqueKeysWithValues: figures.byMessageType.map { type, tally in
            (type, Breakdown(tally, replies: figures.replies[type] ?? .init(replies: 0, responded: 0)))
        })
        byProvider = figures.byProvider.mapValues { Breakdown($0) }
        var latency: [String: [String: Latency]] = [:]
        for percentile in figures.percentiles {
            var entry = latency[percentile.channel, default: [:]][percentile.measure, default: Latency(count: percentile.count)]
            switch percentile.percent {
            case 50: entry.p50 = percentile.milliseconds
            case 95: entry.p95 = percentile.milliseconds
            default: entry.p99 = percentile.milliseconds
            }
            latency[percentile.channel, default: [:]][percentile.measure] = entry
        }
        self.latency = latency
        fallbacks = figures.fallbacks.map { Fallback(from: $0.from, to: $0.to, count: $0.count) }
        retries = figures.retries
        topFailures = Dictionary(grouping: figures.failures, by: \.provider).mapValues { failures in
            failures.sorted { ($1.count, $0.category) < ($0.count, $1.category) }.prefix(Self.topFailureCount)
                .map { Failure(category: $0.category, count: $0.count) }
        }
        stalled = Stalled(
            total: figures.stalled.values.reduce(0, +), byChannel: figures.stalled,
            unsentAfterSeconds: AnalyticsFigures.stalledUnsentSeconds, undeliveredAfterSeconds: AnalyticsFigures.stalledUndeliveredSeconds
        )
        optOuts = figures.optOuts.map { OptOut(channel: $0.channel, source: $0.source, count: $0.count) }
        series = Self.series(figures.quarters, bucketStarts: bucketStarts)
        self.targets = targets.map { target in
            let group = target.channel.map { figures.byChannel[$0.rawValue] ?? AnalyticsTally() } ?? figures.total
            let (part, whole) = switch target.metric {
            case .deliveryRate: (group.delivered, group.outcomes)
            case .openRate: (group.opened, group.delivered)
            case .clickRate: (group.clicked, group.delivered)
            }
            let actual = whole == 0 ? nil : Double(part) / Double(whole)
            return Target(
                metric: target.metric.rawValue, channel: target.channel?.rawValue, target: target.minimum, actual: actual,
                met: actual.map { $0 >= target.minimum }
            )
        }
    }

    /// The quarter-hour tallies summed into the buckets that begin at `bucketStarts` (a quarter
    /// hour never straddles a local hour, day or week: every time zone's offset is a multiple of 15
    /// minutes).
    private static func series(_ quarters: [Int64: AnalyticsTally], bucketStarts: [Date]) -> [Point] {
        var tallies = [AnalyticsTally](repeating: AnalyticsTally(), count: bucketStarts.count)
        let bounds = bucketStarts.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
        for (quarter, tally) in quarters {
            let at = quarter * 900_000
            // The last bucket that starts at or before the quarter.
            var low = 0, high = bounds.count
            while low < high {
                let middle = (low + high) / 2
                if bounds[middle] <= at { low = middle + 1 } else { high = middle }
            }
            guard low > 0 else { continue }
            tallies[low - 1] = tallies[low - 1] + tally
        }
        return zip(bucketStarts, tallies).map { Point(start: $0, breakdown: Breakdown($1)) }
    }

    enum CodingKeys: String, CodingKey {
        case start, end, interval, totals, latency, fallbacks, retries, stalled, series, targets
        case generatedAt = "generated_at"
        case timeZone = "time_zone"
        case byStatus = "by_status"
        case byChannel = "by_channel"
        case byMessageType = "by_message_type"
        case byProvider = "by_provider"
        case topFailures = "top_failures"
        case optOuts = "opt_outs"
        case totalSent = "total_sent"
        case deliveryRate = "delivery_rate"
        case openRate = "open_rate"
        case clickRate = "click_rate"
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(start, forKey: .start)
        try container.encode(end, forKey: .end)
        try container.encode(generatedAt, forKey: .generatedAt)
        try container.encode(timeZone, forKey: .timeZone)
        try container.encode(interval, forKey: .interval)
        // The seed's headline figures, as it named them.
        try container.encode(totals.sent, forKey: .totalSent)
        try container.encode(totals.deliveryRate, forKey: .deliveryRate)
        try container.encode(totals.openRate, forKey: .openRate)
        try container.encode(totals.clickRate, forKey: .clickRate)
        try container.encode(totals, forKey: .totals)
        try container.encode(byStatus, forKey: .byStatus)
        try container.encode(byChannel, forKey: .byChannel)
        try container.encode(byMessageType, forKey: .byMessageType)
        try container.encode(byProvider, forKey: .byProvider)
        try container.encode(latency, forKey: .latency)
        try container.encode(fallbacks, forKey: .fallbacks)
        try container.encode(retries, forKey: .retries)
        try container.encode(topFailures, forKey: .topFailures)
        try container.encode(stalled, forKey: .stalled)
        try container.encode(optOuts, forKey: .optOuts)
        try container.encode(series, forKey: .series)
        try container.encode(targets, forKey: .targets)
    }
}
