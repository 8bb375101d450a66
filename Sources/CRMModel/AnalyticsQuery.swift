public import Foundation

/// Which communications `analytics.get` and `analytics.export` count: those accepted in
/// [start, end), narrowed by the filters that are set.
public struct AnalyticsQuery: Sendable, Equatable {
    public var start: Date
    public var end: Date
    public var planID: UUID?
    public var clientID: UUID?
    /// The channel a communication went out on (or was last tried on, when it never went out).
    public var channel: Channel?
    public var messageType: MessageType?
    /// The time the report is made at: what is still in flight is measured against it.
    public var now: Date
    /// Whether whole quarter hours may be read from the tallies kept per quarter hour; off only to
    /// check them against the communications they sum.
    package var usesQuarters = true
    /// Whether the deltas appended since the last report are folded into the tallies first; off
    /// only to check that deltas not folded yet count as well.
    package var foldsDeltas = true
    /// From how many communications a latency's percentiles are read by walking its index rather
    /// than by sorting; lowered only to check one way against the other.
    package var latencyIndexFrom = 20_000

    public init(
        start: Date, end: Date, planID: UUID? = nil, clientID: UUID? = nil, channel: Channel? = nil,
        messageType: MessageType? = nil, now: Date = Date()
    ) {
        self.start = start
        self.end = end
        self.planID = planID
        self.clientID = clientID
        self.channel = channel
        self.messageType = messageType
        self.now = now
    }
}
