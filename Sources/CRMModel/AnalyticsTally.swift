/// How many communications of a group reached each outcome, each counted once (the database's
/// sums; the rates are made from them).
public struct AnalyticsTally: Sendable, Equatable {
    /// Accepted in the period.
    public var communications: Int = 0
    /// Reached `sent` (whatever happened after: a bounce or a failed delivery counts too).
    public var sent: Int = 0
    /// Reached `delivered` or beyond and did not bounce or fail since; for email, where the
    /// receiving server's acceptance is the only signal, `sent` counts.
    public var delivered: Int = 0
    /// Delivered and opened (or read); a click implies an open.
    public var opened: Int = 0
    /// Delivered and clicked.
    public var clicked: Int = 0
    public var failed: Int = 0
    public var bounced: Int = 0
    /// Sent, failed or bounced: the denominator of the delivery rate.
    public var outcomes: Int = 0

    public init() {}

    public init(communications: Int, sent: Int, delivered: Int, opened: Int, clicked: Int, failed: Int, bounced: Int, outcomes: Int) {
        self.communications = communications
        self.sent = sent
        self.delivered = delivered
        self.opened = opened
        self.clicked = clicked
        self.failed = failed
        self.bounced = bounced
        self.outcomes = outcomes
    }

    public static func + (lhs: AnalyticsTally, rhs: AnalyticsTally) -> AnalyticsTally {
        AnalyticsTally(
            communications: lhs.communications + rhs.communications, sent: lhs.sent + rhs.sent,
            delivered: lhs.delivered + rhs.delivered, opened: lhs.opened + rhs.opened, clicked: lhs.clicked + rhs.clicked,
            failed: lhs.failed + rhs.failed, bounced: lhs.bounced + rhs.bounced, outcomes: lhs.outcomes + rhs.outcomes
        )
    }
}
