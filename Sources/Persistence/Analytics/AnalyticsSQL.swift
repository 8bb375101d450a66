import CRMModel
import Foundation

/// The statements behind `analytics.get`, one text for both backends, and how their rows add up to
/// `AnalyticsFigures`.
///
/// Everything is an aggregate over the per-communication rollups (`sent_at`, `delivered_at`,
/// `provider`, ... kept up to date as statuses move): the database sums, nothing is decrypted and
/// no communication is loaded. The same text on both backends is what makes them agree; the only
/// difference, reading a field of an event's JSON, is `Dialect`'s. Filter values are inlined as
/// literals, which is safe because each is a UUID or one of our own enum names.
enum AnalyticsSQL {
    enum Dialect { case sqlite, postgres }

    /// A value of a result row, as each store decodes it (text or a 64-bit integer, or NULL).
    enum Cell: Sendable {
        case text(String?)
        case integer(Int64?)

        var string: String? {
            if case .text(let value) = self { return value }
            return nil
        }

        var int: Int {
            if case .integer(let value?) = self { return Int(value) }
            return 0
        }
    }

    enum Kind: Sendable { case text, integer }

    /// One statement, the kinds of its columns, and how a row of it adds to the figures.
    struct Statement: Sendable {
        var sql: String
        var kinds: [Kind]
        var fold: @Sendable (inout AnalyticsFigures, [Cell]) -> Void
    }

    /// Where a communication went out, or was last tried when it never went out.
    static let channel = "COALESCE(channel_used, last_channel)"

    static let stalledUnsentMilliseconds = Int64(AnalyticsFigures.stalledUnsentSeconds) * 1000
    static let stalledUndeliveredMilliseconds = Int64(AnalyticsFigures.stalledUndeliveredSeconds) * 1000

    /// The latencies measured, each as the difference of two rollup columns, with what must hold
    /// for a communication to have one.
    static let measures: [(name: String, value: String, applies: String)] = [
        ("queued_to_sent", "sent_at - queued_at", "sent_at IS NOT NULL AND queued_at IS NOT NULL"),
        // Not email: nothing reports an email's delivery (its delivered_at, if any, is an open).
        ("sent_to_delivered", "delivered_at - sent_at", "delivered_at IS NOT NULL AND sent_at IS NOT NULL AND \(channel) <> 'email'"),
    ]

    static let percents = [50, 95, 99]

    static func statements(for query: AnalyticsQuery, dialect: Dialect) -> [Statement] {
        let scope = filter(query)
        var statements = [cube(scope, now: query.now.millisecondsSince1970), quarters(scope)]
        statements += measures.map { percentiles(of: $0, scope: scope) }
        statements += [failures(query), replies(query), optOuts(query, dialect: dialect)]
        return statements
    }

    /// The tallies by channel, message type, provider, status and first channel at once: every
    /// breakdown of the report (and the totals, retries, fallbacks and stalled counts) is a sum of
    /// these few hundred groups at most, so the communications are scanned once for all of them.
    private static func cube(_ scope: String, now: Int64) -> Statement {
        let stalled = """
            (status IN ('pending', 'scheduled', 'queued') AND COALESCE(next_attempt_at, updated_at) < \(now - stalledUnsentMilliseconds))
              OR (status = 'sent' AND \(channel) IN ('sms', 'whatsapp') AND sent_at < \(now - stalledUndeliveredMilliseconds))
            """
        let sql = """
            SELECT \(channel), message_type, provider, status, first_channel, \(tallyColumns),
              CAST(COALESCE(SUM(retries), 0) AS BIGINT), \(count(stalled))
            FROM communications WHERE \(scope) GROUP BY 1, 2, 3, 4, 5
            """
        return Statement(sql: sql, kinds: [.text, .text, .text, .text, .text] + tallyKinds + [.integer, .integer]) { figures, row in
            let tally = Self.tally(row, from: 5)
            let (channel, type, provider, status, first) = (row[0].string, row[1].string, row[2].string, row[3].string, row[4].string)
            figures.total = figures.total + tally
            if let channel { figures.byChannel[channel, default: AnalyticsTally()] = figures.byChannel[channel, default: AnalyticsTally()] + tally }
            if let type { figures.byMessageType[type, default: AnalyticsTally()] = figures.byMessageType[type, default: AnalyticsTally()] + tally }
            if let provider { figures.byProvider[provider, default: AnalyticsTally()] = figures.byProvider[provider, default: AnalyticsTally()] + tally }
            if let status { figures.byStatus[status, default: 0] += tally.communications }
            figures.retries += row[13].int
            if row[14].int > 0 { figures.stalled[channel ?? "none", default: 0] += row[14].int }
            // channel_used is set when a communication is sent: the group's `sent` are the ones
            // that went out on `channel` after first trying `first`.
            if let first, let channel, first != channel, tally.sent > 0 {
                if let index = figures.fallbacks.firstIndex(where: { $0.from == first && $0.to == channel }) {
                    figures.fallbacks[index].count += tally.sent
                } else {
                    figures.fallbacks.append(.init(from: first, to: channel, count: tally.sent))
                }
            }
        }
    }

    /// Tallies by the UTC quarter hour of acceptance, for the series in any time zone.
    private static func quarters(_ scope: String) -> Statement {
        Statement(
            sql: "SELECT created_at / 900000, \(tallyColumns) FROM communications WHERE \(scope) GROUP BY created_at / 900000",
            kinds: [.integer] + tallyKinds
        ) { figures, row in
            if case .integer(let quarter?) = row[0] { figures.quarters[quarter] = Self.tally(row, from: 1) }
        }
    }

    /// The 50th, 95th and 99th percentiles of a latency per channel, by nearest rank (the value at
    /// rank ceil(p n / 100) in ascending order: PostgreSQL's percentile_disc, which SQLite lacks).
    private static func percentiles(of measure: (name: String, value: String, applies: String), scope: String) -> Statement {
        let ranks = percents.map { "(\($0) * n + 99) / 100" }.joined(separator: ", ")
        let sql = """
            SELECT ch, n, r, v FROM (
              SELECT \(channel) AS ch, \(measure.value) AS v,
                ROW_NUMBER() OVER (PARTITION BY \(channel) ORDER BY \(measure.value)) AS r,
                COUNT(*) OVER (PARTITION BY \(channel)) AS n
              FROM communications WHERE \(scope) AND \(measure.applies)
            ) ranked WHERE r IN (\(ranks))
            """
        return Statement(sql: sql, kinds: [.text, .integer, .integer, .integer]) { figures, row in
            guard let channel = row[0].string, case .integer(let value?) = row[3] else { return }
            let (count, rank) = (row[1].int, row[2].int)
            for percent in percents where (percent * count + 99) / 100 == rank {
                figures.percentiles.append(.init(channel: channel, measure: measure.name, percent: percent, milliseconds: value, count: count))
            }
        }
    }

    /// Failed attempts by provider and category, through the partial index of failed attempts.
    private static func failures(_ query: AnalyticsQuery) -> Statement {
        let sql = """
            SELECT a.provider, COALESCE(a.error_category, 'unknown'), COUNT(*) FROM attempts a
            JOIN communications c ON c.id = a.communication_id
            WHERE a.outcome = 'failed' AND a.provider IS NOT NULL AND \(filter(query, table: "c."))
            GROUP BY a.provider, COALESCE(a.error_category, 'unknown')
            """
        return Statement(sql: sql, kinds: [.text, .text, .integer]) { figures, row in
            guard let provider = row[0].string, let category = row[1].string else { return }
            figures.failures.append(.init(provider: provider, category: category, count: row[2].int))
        }
    }

    /// Replies tied to a communication in scope, by its message type; `responded` counts only
    /// communications answered after they were sent (a reply is tied to the client's latest
    /// communication, which may be one still waiting), so the response rate stays a fraction of
    /// those sent.
    private static func replies(_ query: AnalyticsQuery) -> Statement {
        let sql = """
            SELECT c.message_type, COUNT(*), COUNT(DISTINCT CASE WHEN i.received_at >= c.sent_at THEN i.communication_id END)
            FROM inbound_messages i
            JOIN communications c ON c.id = i.communication_id
            WHERE \(filter(query, table: "c.")) GROUP BY c.message_type
            """
        return Statement(sql: sql, kinds: [.text, .integer, .integer]) { figures, row in
            guard let type = row[0].string else { return }
            figures.replies[type] = .init(replies: row[1].int, responded: row[2].int)
        }
    }

    /// Opt-outs announced in the period, by channel and source. Plan and message type do not
    /// narrow them: an opt-out is the client's, not a message's.
    private static func optOuts(_ query: AnalyticsQuery, dialect: Dialect) -> Statement {
        func field(_ name: String) -> String {
            switch dialect {
            case .sqlite: "json_extract(params, '$.\(name)')"
            case .postgres: "(params::jsonb ->> '\(name)')"
            }
        }
        var scope = "method = 'client.opted_out' AND at >= \(query.start.millisecondsSince1970) AND at < \(query.end.millisecondsSince1970)"
        if let client = query.clientID { scope += " AND client_id = '\(client.key)'" }
        if let channel = query.channel { scope += " AND \(field("channel")) = '\(channel.rawValue)'" }
        let sql = "SELECT \(field("channel")), \(field("source")), COUNT(*) FROM events WHERE \(scope) GROUP BY 1, 2"
        return Statement(sql: sql, kinds: [.text, .text, .integer]) { figures, row in
            guard let channel = row[0].string, let source = row[1].string else { return }
            figures.optOuts.append(.init(channel: channel, source: source, count: row[2].int))
        }
    }

    /// The communications the query is about, as a condition on `table` (a prefix such as "c.").
    static func filter(_ query: AnalyticsQuery, table: String = "") -> String {
        var clauses = [
            "\(table)created_at >= \(query.start.millisecondsSince1970)", "\(table)created_at < \(query.end.millisecondsSince1970)",
        ]
        if let plan = query.planID { clauses.append("\(table)plan_id = '\(plan.key)'") }
        if let client = query.clientID { clauses.append("\(table)client_id = '\(client.key)'") }
        if let type = query.messageType { clauses.append("\(table)message_type = '\(type.rawValue)'") }
        if let channel = query.channel {
            clauses.append("COALESCE(\(table)channel_used, \(table)last_channel) = '\(channel.rawValue)'")
        }
        return clauses.joined(separator: " AND ")
    }

    // MARK: Tallies

    /// Delivered: reached delivered or beyond and did not end badly since; for email, sent will do.
    private static let delivered = """
        status NOT IN ('failed', 'bounced') AND (delivered_at IS NOT NULL OR (\(channel) = 'email' AND sent_at IS NOT NULL))
        """

    private static let tallyColumns = [
        "CAST(COUNT(*) AS BIGINT)",
        count("sent_at IS NOT NULL"),
        count(delivered),
        count("(\(delivered)) AND (opened_at IS NOT NULL OR clicked_at IS NOT NULL)"),
        count("(\(delivered)) AND clicked_at IS NOT NULL"),
        count("status = 'failed'"),
        count("status = 'bounced'"),
        count("sent_at IS NOT NULL OR status IN ('failed', 'bounced')"),
    ].joined(separator: ", ")

    private static let tallyKinds = [Kind](repeating: .integer, count: 8)

    private static func count(_ condition: String) -> String {
        "CAST(COALESCE(SUM(CASE WHEN \(condition) THEN 1 ELSE 0 END), 0) AS BIGINT)"
    }

    private static func tally(_ row: [Cell], from start: Int) -> AnalyticsTally {
        AnalyticsTally(
            communications: row[start].int, sent: row[start + 1].int, delivered: row[start + 2].int, opened: row[start + 3].int,
            clicked: row[start + 4].int, failed: row[start + 5].int, bounced: row[start + 6].int, outcomes: row[start + 7].int
        )
    }
}

extension AnalyticsSQL {
    /// The figures of `statements`' rows, in a stable order (the backends return groups in their
    /// own order).
    static func figures(_ results: [(Statement, [[Cell]])]) -> AnalyticsFigures {
        var figures = AnalyticsFigures()
        for (statement, rows) in results {
            for row in rows { statement.fold(&figures, row) }
        }
        figures.percentiles.sort { ($0.channel, $0.measure, $0.percent) < ($1.channel, $1.measure, $1.percent) }
        figures.fallbacks.sort { ($0.from, $0.to) < ($1.from, $1.to) }
        figures.failures.sort { ($0.provider, $0.category) < ($1.provider, $1.category) }
        figures.optOuts.sort { ($0.channel, $0.source) < ($1.channel, $1.source) }
        return figures
    }
}

extension AnalyticsSQL {
    /// Every communication in scope, oldest first, as the columns `record(_:)` reads.
    static func records(for query: AnalyticsQuery) -> String {
        """
        SELECT id, plan_id, client_id, message_type, urgency, status, \(channel), first_channel, provider, attempt_count, retries,
          last_error, created_at, queued_at, sent_at, delivered_at, opened_at, clicked_at,
          CASE WHEN status IN ('failed', 'bounced', 'cancelled') THEN updated_at END
        FROM communications WHERE \(filter(query)) ORDER BY created_at, id
        """
    }

    static let recordKinds: [Kind] = [.text, .text, .text, .text, .text, .text, .text, .text, .text, .integer, .integer, .text]
        + [Kind](repeating: .integer, count: 7)

    /// A row of `records(for:)`.
    static func record(_ row: [Cell]) -> CommunicationRecord {
        func date(_ index: Int) -> Date? {
            guard case .integer(let milliseconds?) = row[index] else { return nil }
            return Date(millisecondsSince1970: milliseconds)
        }
        let channel = row[6].string, first = row[7].string
        return CommunicationRecord(
            communicationID: row[0].string ?? "", planID: row[1].string ?? "", clientID: row[2].string ?? "",
            messageType: row[3].string ?? "", urgency: row[4].string ?? "", status: row[5].string ?? "", channel: channel,
            fallbackFrom: first != nil && first != channel && channel != nil ? first : nil, provider: row[8].string,
            attempts: row[9].int, retries: row[10].int, lastError: row[11].string, createdAt: date(12) ?? Date(timeIntervalSince1970: 0),
            queuedAt: date(13), sentAt: date(14), deliveredAt: date(15), openedAt: date(16), clickedAt: date(17), endedAt: date(18)
        )
    }
}
