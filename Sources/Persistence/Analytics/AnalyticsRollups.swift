import CRMModel

/// The per-communication columns analytics reads instead of the status and attempt history: when
/// each milestone was first reached, and a summary of the attempts. Kept up to date in the
/// transaction that moves a status or records an attempt, so a report never reads the history
/// (and the tallies per day and quarter hour, `AnalyticsQuarters`, are made from these); the
/// migration fills them in for what was stored before.
enum AnalyticsRollups {
    /// The migration's statements; `integer` is the backend's 64-bit integer type.
    static func migration(integer: String) -> [String] {
        let columns = [
            ("queued_at", integer), ("sent_at", integer), ("delivered_at", integer), ("opened_at", integer),
            ("clicked_at", integer), ("provider", "TEXT"), ("first_channel", "TEXT"), ("last_channel", "TEXT"),
            ("last_error", "TEXT"), ("attempt_count", "\(integer) NOT NULL DEFAULT 0"), ("retries", "\(integer) NOT NULL DEFAULT 0"),
        ]
        func first(_ statuses: String) -> String {
            "(SELECT MIN(e.at) FROM status_events e WHERE e.communication_id = communications.id AND e.status IN (\(statuses)))"
        }
        func lastAttempt(_ column: String, _ order: String, outcome: String = "a.outcome <> 'skipped'") -> String {
            "(SELECT a.\(column) FROM attempts a WHERE a.communication_id = communications.id AND \(outcome) ORDER BY a.number \(order) LIMIT 1)"
        }
        let tried = "FROM attempts a WHERE a.communication_id = communications.id AND a.outcome <> 'skipped'"
        return columns.map { "ALTER TABLE communications ADD COLUMN \($0.0) \($0.1)" } + [
            """
            UPDATE communications SET
              queued_at = \(first("'queued'")),
              sent_at = \(first("'sent', 'delivered', 'opened', 'clicked'")),
              delivered_at = \(first("'delivered', 'opened', 'clicked'")),
              opened_at = \(first("'opened', 'clicked'")),
              clicked_at = \(first("'clicked'")),
              provider = \(lastAttempt("provider", "DESC")),
              first_channel = \(lastAttempt("channel", "ASC")),
              last_channel = \(lastAttempt("channel", "DESC")),
              last_error = \(lastAttempt("error_category", "DESC", outcome: "a.outcome = 'failed'")),
              attempt_count = (SELECT COUNT(*) \(tried)),
              retries = (SELECT COUNT(*) - COUNT(DISTINCT a.channel) \(tried))
            """,
            // The failures report reads failed attempts only: a few among many.
            "CREATE INDEX attempts_failed ON attempts (communication_id) WHERE outcome = 'failed'",
        ]
    }

    /// The assignments that stamp the milestones a move to `status` reaches, first time only
    /// (a receipt for a later milestone fills the ones it implies: a read message was delivered).
    /// Empty for statuses that are no milestone. `at` is SQL: a literal, or a placeholder so that
    /// the statement's text is the same every time (and SQLite can reuse it prepared).
    static func milestones(reaching status: CommunicationStatus, at: String) -> String {
        milestoneColumns(reaching: status).map { ", \($0) = COALESCE(\($0), \(at))" }.joined()
    }

    /// The same for an UPDATE that moves several communications, each to the status the SQL
    /// `status` gives (a column of the rows it joins): every milestone column, stamped where that
    /// status reaches it and left as it is elsewhere.
    static func milestones(reachedBy status: String, at: String) -> String {
        let columns = ["queued_at", "sent_at", "delivered_at", "opened_at", "clicked_at"]
        return columns.map { column in
            let reaching = CommunicationStatus.allCases.filter { milestoneColumns(reaching: $0).contains(column) }
            let statuses = reaching.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            return ", \(column) = CASE WHEN \(status) IN (\(statuses)) THEN COALESCE(\(column), \(at)) ELSE \(column) END"
        }.joined()
    }

    private static func milestoneColumns(reaching status: CommunicationStatus) -> [String] {
        switch status {
        case .queued: ["queued_at"]
        case .sent: ["sent_at"]
        case .delivered: ["sent_at", "delivered_at"]
        case .opened: ["sent_at", "delivered_at", "opened_at"]
        case .clicked: ["sent_at", "delivered_at", "opened_at", "clicked_at"]
        case .pending, .scheduled, .failed, .bounced, .cancelled: []
        }
    }

    /// What recording a non-skipped attempt does to the summary, as an UPDATE with numbered
    /// placeholders each backend spells its own way (`?1`, `$1`): 1 the channel, 2 the attempt's
    /// number, 3 the provider, 4 the failure category (NULL unless it failed), 5 the communication.
    static func attemptUpdate(_ placeholder: (Int) -> String) -> String {
        "UPDATE communications SET\n\(attemptAssignments(placeholder))\nWHERE id = \(placeholder(5))"
    }

    /// The assignments of `attemptUpdate`, for an UPDATE that also moves the communication. They
    /// count the attempt's predecessors only, so they hold whether or not its row is visible yet.
    /// With `condition` (SQL), each applies only where it holds, for an UPDATE of several rows of
    /// which only some record an attempt; the others keep their columns.
    static func attemptAssignments(_ placeholder: (Int) -> String, when condition: String? = nil) -> String {
        let assignments = [
            ("attempt_count", "attempt_count + 1"),
            ("retries", """
                retries + CASE WHEN EXISTS (
                    SELECT 1 FROM attempts a WHERE a.communication_id = communications.id AND a.channel = \(placeholder(1))
                      AND a.outcome <> 'skipped' AND a.number < \(placeholder(2))) THEN 1 ELSE 0 END
                """),
            ("first_channel", "COALESCE(first_channel, \(placeholder(1)))"),
            ("last_channel", placeholder(1)),
            ("provider", placeholder(3)),
            ("last_error", "COALESCE(\(placeholder(4)), last_error)"),
        ]
        return assignments.map { column, value in
            guard let condition else { return "  \(column) = \(value)" }
            return "  \(column) = CASE WHEN \(condition) THEN \(value) ELSE \(column) END"
        }.joined(separator: ",\n")
    }
}
