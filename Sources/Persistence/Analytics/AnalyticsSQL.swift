import CRMModel
import Foundation

/// The statements behind `analytics.get`, one text for both backends, and how their rows add up to
/// `AnalyticsFigures`.
///
/// Everything is an aggregate the database computes: over the quarter-hour tallies
/// (`AnalyticsQuarters`) for whole quarter hours when no plan or client narrows the report, over the
/// per-communication rollups (`sent_at`, `delivered_at`, `provider`, ... kept up to date as statuses
/// move) otherwise and at the period's ragged edges, and over indexes for latencies and what is in
/// flight. Nothing is decrypted and no communication is loaded. The same text on both backends is
/// what makes them agree; the differences (reading a field of an event's JSON, how to keep the
/// planner off the time index) are `Dialect`'s. Filter values are inlined as literals, which is safe because each is a UUID, a
/// number or one of our own enum names.
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

    /// One statement, the kinds of its columns, how a row of it adds to the figures, and the
    /// statements its rows call for next (the percentiles need their counts first).
    struct Statement: Sendable {
        var sql: String
        var kinds: [Kind]
        var fold: @Sendable (inout AnalyticsFigures, [Cell]) -> Void
        var next: @Sendable ([[Cell]]) -> [Statement] = { _ in [] }
    }

    /// Where a communication went out, or was last tried when it never went out.
    static let channel = "COALESCE(channel_used, last_channel)"

    static let stalledUnsentMilliseconds = Int64(AnalyticsFigures.stalledUnsentSeconds) * 1000
    static let stalledUndeliveredMilliseconds = Int64(AnalyticsFigures.stalledUndeliveredSeconds) * 1000

    /// What may be stalled: not sent yet, or sent on a channel that reports delivery and not
    /// delivered yet. A partial index holds each (`AnalyticsQuarters.indexes`).
    static let unsent = "status IN ('pending', 'scheduled', 'queued')"
    static let awaitingReceipt = "status = 'sent' AND \(channel) IN ('sms', 'whatsapp')"

    /// A latency: the difference of two milestone columns, on the channels it is measured on.
    struct Measure: Sendable {
        var name: String
        var from: String
        var to: String
        var channels: [Channel]

        var value: String { "\(to) - \(from)" }

        /// What must hold for a communication (`row` is a prefix such as "NEW.") to have it.
        func indexed(_ row: String) -> String { "\(row)\(to) IS NOT NULL AND \(row)\(from) IS NOT NULL" }
    }

    static let measures = [
        Measure(name: "queued_to_sent", from: "queued_at", to: "sent_at", channels: Channel.allCases),
        // Not email: nothing reports an email's delivery (its delivered_at, if any, is an open).
        Measure(name: "sent_to_delivered", from: "sent_at", to: "delivered_at", channels: Channel.allCases.filter { $0 != .email }),
    ]

    static let percents = [50, 95, 99]

    /// The first statements of a report; run them, and the ones each one's `next` gives, in one
    /// snapshot (`figures(running:_:)`).
    static func statements(for query: AnalyticsQuery, dialect: Dialect) -> [Statement] {
        [cube(query, dialect: dialect)] + quarters(query) + [stalledUnsent(query), recentlySent(query, dialect: dialect), failures(query), replies(query), optOuts(query, dialect: dialect)]
    }

    /// The summed columns of `parts`' rows, as `AnalyticsQuarters.sums` names them.
    private static let sums = AnalyticsQuarters.sums

    /// Selects of rows (quarter, channel, message type, provider, status, first channel, sums...)
    /// whose sums are the report's: the groups kept per day (when `byDay`) and per quarter hour for
    /// the whole quarter hours of the period when the query allows, and a row per communication
    /// for the rest.
    static func parts(_ query: AnalyticsQuery, byDay: Bool) -> [String] {
        let (start, end) = (query.start.millisecondsSince1970, query.end.millisecondsSince1970)
        let step = AnalyticsQuarters.milliseconds
        let (first, last) = ((start + step - 1) / step, end / step)
        var parts: [String] = []
        var ranges = [(start, end)]
        if query.usesQuarters, query.planID == nil, query.clientID == nil, first > 0, first < last {
            parts += AnalyticsQuarters.rows(quarters: first, last, byDay: byDay, channel: query.channel, messageType: query.messageType)
            ranges = [(start, first * step), (last * step, end)].filter { $0.0 < $0.1 }
        }
        let perCommunication = (
            ["created_at / \(step)", channel, "message_type", "provider", "status", "first_channel"]
                + AnalyticsQuarters.contribution("", sign: "")
        ).joined(separator: ", ")
        return parts + ranges.map { "SELECT \(perCommunication) FROM communications WHERE \(filter(query, from: $0.0, to: $0.1))" }
    }

    /// `parts` as the table `tallied`.
    private static func tallied(_ parts: [String]) -> String {
        let names = ["q", "ch", "mt", "pr", "st", "fc"] + sums
        return "WITH tallied (\(names.joined(separator: ", "))) AS (\(parts.joined(separator: " UNION ALL ")))"
    }

    /// The tallies by channel, message type, provider, status and first channel at once: every
    /// breakdown of the report (and the totals, retries, fallbacks, what was sent and awaits a
    /// receipt, and how many have each latency) is a sum of these few hundred groups at most.
    private static func cube(_ query: AnalyticsQuery, dialect: Dialect) -> Statement {
        let sql = "\(tallied(parts(query, byDay: true))) SELECT ch, mt, pr, st, fc, \(summed) FROM tallied GROUP BY ch, mt, pr, st, fc HAVING SUM(communications) > 0"
        var statement = Statement(sql: sql, kinds: [.text, .text, .text, .text, .text] + [Kind](repeating: .integer, count: sums.count)) { figures, row in
            let tally = Self.tally(row, from: 5)
            let (channel, type, provider, status, first) = (row[0].string, row[1].string, row[2].string, row[3].string, row[4].string)
            figures.total = figures.total + tally
            if let channel { figures.byChannel[channel, default: AnalyticsTally()] = figures.byChannel[channel, default: AnalyticsTally()] + tally }
            if let type { figures.byMessageType[type, default: AnalyticsTally()] = figures.byMessageType[type, default: AnalyticsTally()] + tally }
            if let provider { figures.byProvider[provider, default: AnalyticsTally()] = figures.byProvider[provider, default: AnalyticsTally()] + tally }
            if let status { figures.byStatus[status, default: 0] += tally.communications }
            figures.retries += row[13].int
            // Stalled awaiting a receipt: all that await one since a known time, less the recent
            // (`recentlySent`). `sent` counts those with a sent_at.
            if status == "sent", let channel, channel == "sms" || channel == "whatsapp" {
                figures.stalled[channel, default: 0] += tally.sent
            }
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
        statement.next = { rows in
            measures.enumerated().flatMap { index, measure in
                measure.channels.compactMap { channel -> Statement? in
                    let count = rows.filter { $0[0].string == channel.rawValue }.reduce(0) { $0 + $1[14 + index].int }
                    return count > 0 ? percentiles(of: measure, channel: channel, count: count, query: query, dialect: dialect) : nil
                }
            }
        }
        return statement
    }

    /// Tallies by the UTC quarter hour of acceptance, for the series in any time zone: a statement
    /// a part, as each then reads its rows in quarter order without sorting them.
    private static func quarters(_ query: AnalyticsQuery) -> [Statement] {
        parts(query, byDay: false).map { part in
            Statement(sql: "\(tallied([part])) SELECT q, \(summed) FROM tallied GROUP BY q", kinds: [Kind](repeating: .integer, count: 1 + sums.count)) { figures, row in
                if case .integer(let quarter?) = row[0] { figures.quarters[quarter] = (figures.quarters[quarter] ?? AnalyticsTally()) + Self.tally(row, from: 1) }
            }
        }
    }

    /// Not sent an hour past due. Few at any time, read through their partial index.
    private static func stalledUnsent(_ query: AnalyticsQuery) -> Statement {
        let sql = """
            SELECT \(channel), CAST(COUNT(*) AS BIGINT) FROM communications
            WHERE \(unsent) AND \(filter(query)) AND COALESCE(next_attempt_at, updated_at) < \(query.now.millisecondsSince1970 - stalledUnsentMilliseconds)
            GROUP BY \(channel)
            """
        return Statement(sql: sql, kinds: [.text, .integer]) { figures, row in
            figures.stalled[row[0].string ?? "none", default: 0] += row[1].int
        }
    }

    /// Sent on a channel that reports delivery less than a day ago, with no
    /// receipt yet: waiting, not stalled. Read through their partial index from a day ago on (on SQLite
    /// a unary plus keeps the planner off the time index, which would visit the whole period;
    /// PostgreSQL's estimates need the plain column and choose well).
    private static func recentlySent(_ query: AnalyticsQuery, dialect: Dialect) -> Statement {
        let sql = """
            SELECT \(channel), CAST(COUNT(*) AS BIGINT) FROM communications
            WHERE \(awaitingReceipt) AND \(filter(query, indexedTime: dialect == .postgres))
              AND sent_at >= \(query.now.millisecondsSince1970 - stalledUndeliveredMilliseconds)
            GROUP BY \(channel)
            """
        return Statement(sql: sql, kinds: [.text, .integer]) { figures, row in
            if let channel = row[0].string { figures.stalled[channel, default: 0] -= row[1].int }
        }
    }

    /// The 50th, 95th and 99th percentiles of a latency on one channel, by nearest rank (the value
    /// at rank ceil(p n / 100) in ascending order: PostgreSQL's percentile_disc). Each is read by
    /// walking the index from the nearer end, so the three together step over about half the
    /// communications instead of sorting them all.
    private static func percentiles(of measure: Measure, channel: Channel, count: Int, query: AnalyticsQuery, dialect: Dialect) -> Statement {
        // Few are sorted; many are read by walking the index, which steps over the channel's whole
        // history, in and out of the period, but never sorts. On SQLite a unary plus keeps the
        // planner off the time index; PostgreSQL's planner chooses well from its statistics.
        // Filtered by plan or client, the planner goes through their index.
        let walk = count >= query.latencyIndexFrom && query.planID == nil && query.clientID == nil
        let scope = "\(measure.indexed("")) AND \(Self.channel) = '\(channel.rawValue)' AND \(filter(query, indexedTime: !walk || dialect == .postgres))"
        let values = percents.map { percent in
            let rank = (percent * count + 99) / 100
            let (order, offset) = rank * 2 <= count ? ("", rank - 1) : (" DESC", count - rank)
            return "(SELECT \(measure.value) FROM communications WHERE \(scope) ORDER BY \(measure.value)\(order) LIMIT 1 OFFSET \(offset))"
        }
        return Statement(sql: "SELECT \(values.joined(separator: ", "))", kinds: percents.map { _ in .integer }) { figures, row in
            for (percent, cell) in zip(percents, row) {
                guard case .integer(let value?) = cell else { continue }
                figures.percentiles.append(.init(channel: channel.rawValue, measure: measure.name, percent: percent, milliseconds: value, count: count))
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
    /// With `indexedTime` false, the time is compared so that no index on it is used (a unary plus).
    static func filter(_ query: AnalyticsQuery, table: String = "", indexedTime: Bool = true) -> String {
        filter(query, from: query.start.millisecondsSince1970, to: query.end.millisecondsSince1970, table: table, indexedTime: indexedTime)
    }

    /// As `filter(_:table:indexedTime:)`, for those accepted in [from, to) only.
    static func filter(_ query: AnalyticsQuery, from: Int64, to: Int64, table: String = "", indexedTime: Bool = true) -> String {
        let time = "\(indexedTime ? "" : "+")\(table)created_at"
        var clauses = ["\(time) >= \(from)", "\(time) < \(to)"]
        if let plan = query.planID { clauses.append("\(table)plan_id = '\(plan.key)'") }
        if let client = query.clientID { clauses.append("\(table)client_id = '\(client.key)'") }
        if let type = query.messageType { clauses.append("\(table)message_type = '\(type.rawValue)'") }
        if let channel = query.channel {
            clauses.append("COALESCE(\(table)channel_used, \(table)last_channel) = '\(channel.rawValue)'")
        }
        return clauses.joined(separator: " AND ")
    }

    // MARK: Tallies

    /// What a communication (`row` is "", "NEW." or "OLD.") must satisfy to count in each field of
    /// `AnalyticsTally`, in its order: every one, sent, delivered (reached delivered or beyond and
    /// did not end badly since; for email, sent will do), opened, clicked, failed, bounced, and
    /// with an outcome. The quarter-hour tallies' triggers are made from these too, so the two ways
    /// of counting cannot drift apart.
    static func tallyConditions(_ row: String) -> [String] {
        let delivered = """
            \(row)status NOT IN ('failed', 'bounced') AND (\(row)delivered_at IS NOT NULL \
            OR (COALESCE(\(row)channel_used, \(row)last_channel) = 'email' AND \(row)sent_at IS NOT NULL))
            """
        return [
            "1 = 1",
            "\(row)sent_at IS NOT NULL",
            delivered,
            "(\(delivered)) AND (\(row)opened_at IS NOT NULL OR \(row)clicked_at IS NOT NULL)",
            "(\(delivered)) AND \(row)clicked_at IS NOT NULL",
            "\(row)status = 'failed'",
            "\(row)status = 'bounced'",
            "\(row)sent_at IS NOT NULL OR \(row)status IN ('failed', 'bounced')",
        ]
    }

    /// `AnalyticsQuarters.sums` summed over `tallied`'s rows.
    private static let summed = AnalyticsQuarters.sums.map { "CAST(COALESCE(SUM(\($0)), 0) AS BIGINT)" }.joined(separator: ", ")

    private static func tally(_ row: [Cell], from start: Int) -> AnalyticsTally {
        AnalyticsTally(
            communications: row[start].int, sent: row[start + 1].int, delivered: row[start + 2].int, opened: row[start + 3].int,
            clicked: row[start + 4].int, failed: row[start + 5].int, bounced: row[start + 6].int, outcomes: row[start + 7].int
        )
    }
}

extension AnalyticsSQL {
    /// Runs `statements`, and those their rows call for, with `execute`; their figures.
    static func figures(running statements: [Statement], _ execute: (Statement) throws -> [[Cell]]) rethrows -> AnalyticsFigures {
        var (figures, pending) = (AnalyticsFigures(), statements[...])
        while let statement = pending.popFirst() {
            let rows = try execute(statement)
            for row in rows { statement.fold(&figures, row) }
            pending += statement.next(rows)
        }
        return ordered(figures)
    }

    /// As `figures(running:_:)`, for a backend whose statements are asynchronous.
    static func figures(running statements: [Statement], _ execute: (Statement) async throws -> [[Cell]]) async rethrows -> AnalyticsFigures {
        var (figures, pending) = (AnalyticsFigures(), statements[...])
        while let statement = pending.popFirst() {
            let rows = try await execute(statement)
            for row in rows { statement.fold(&figures, row) }
            pending += statement.next(rows)
        }
        return ordered(figures)
    }

    /// `figures` in a stable order (the backends return groups in their own order).
    private static func ordered(_ figures: AnalyticsFigures) -> AnalyticsFigures {
        var figures = figures
        figures.percentiles.sort { ($0.channel, $0.measure, $0.percent) < ($1.channel, $1.measure, $1.percent) }
        figures.fallbacks.sort { ($0.from, $0.to) < ($1.from, $1.to) }
        figures.failures.sort { ($0.provider, $0.category) < ($1.provider, $1.category) }
        figures.optOuts.sort { ($0.channel, $0.source) < ($1.channel, $1.source) }
        figures.stalled = figures.stalled.filter { $0.value > 0 }
        // A quarter whose communications were all taken back (a delta not folded yet) is empty.
        figures.quarters = figures.quarters.filter { $0.value.communications > 0 }
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
