import CRMModel

/// The tallies of `analytics.get` grouped by channel, message type, provider, status and first
/// channel, per UTC quarter hour and per UTC day of acceptance, kept by the database itself. A report
/// over a month of a million communications then sums a thousand day groups and the quarter groups
/// of its ragged first and last days instead of scanning every row; a quarter hour is fine enough
/// for a series in any time zone (every offset in use is a multiple of 15 minutes).
///
/// Triggers on `communications` append a communication's contribution as a signed delta when it is
/// inserted, take it back and append the new one when a status, a milestone or an attempt changes
/// it, and take it back when it is deleted: every writer keeps the tallies right, an older binary, a
/// bulk load and a retention purge included. Deltas rather than sums updated in place, because on
/// PostgreSQL concurrent sends would queue on a few hot group rows (and could deadlock, a retry
/// moving a communication back and forth between two groups); appending is also the cheapest write
/// SQLite can do. A report folds the deltas into the groups first (`compaction`), and reads the
/// deltas left beside the groups, in one snapshot, so a delta committed meanwhile still counts.
enum AnalyticsQuarters {
    static let deltas = "analytics_deltas"
    static let quarters = "analytics_quarters"
    static let days = "analytics_days"
    static let milliseconds: Int64 = 900_000
    static let quartersADay: Int64 = 96

    /// The grouping columns after the period's, and a communication's value for each; `row` is
    /// "", "NEW." or "OLD.". NULL is stored as '' so that groups stay unique (NULLs are distinct in
    /// a primary key).
    static func dimensions(_ row: String) -> [(column: String, value: String)] {
        [
            ("channel", "COALESCE(\(row)channel_used, \(row)last_channel, '')"),
            ("message_type", "\(row)message_type"),
            ("provider", "COALESCE(\(row)provider, '')"),
            ("status", "\(row)status"),
            ("first_channel", "COALESCE(\(row)first_channel, '')"),
        ]
    }

    /// The summed columns: `AnalyticsSQL.tallyConditions`' in order, then retries, then how many
    /// have each latency `AnalyticsSQL.measures` names (the percentiles' ranks come from these).
    static let sums = ["communications", "sent", "delivered", "opened", "clicked", "failed", "bounced", "outcomes", "retries"]
        + AnalyticsSQL.measures.map(\.name)

    /// A communication's contribution to each of `sums`, times `sign` ("" or "-").
    static func contribution(_ row: String, sign: String) -> [String] {
        func indicator(_ condition: String) -> String { "\(sign)CASE WHEN \(condition) THEN 1 ELSE 0 END" }
        return AnalyticsSQL.tallyConditions(row).map(indicator) + ["\(sign)\(row)retries"]
            + AnalyticsSQL.measures.map { indicator($0.indexed(row)) }
    }

    /// The columns whose change can change a communication's group or contribution.
    static let inputs = [
        "created_at", "channel_used", "last_channel", "message_type", "provider", "status", "first_channel",
        "sent_at", "delivered_at", "opened_at", "clicked_at", "retries", "queued_at",
    ]

    private static var dimensionColumns: [String] { dimensions("").map(\.column) }

    /// A table of groups (`period` is "quarter" or "day") or, without a primary key, of deltas.
    private static func table(_ name: String, period: String, integer: String, keyed: Bool, sqlite: Bool) -> String {
        let columns = ["\(period) \(integer) NOT NULL"] + dimensionColumns.map { "\($0) TEXT NOT NULL" } + sums.map { "\($0) \(integer) NOT NULL" }
        guard keyed else { return "CREATE TABLE \(name) (\(columns.joined(separator: ", ")))" }
        // WITHOUT ROWID: a report reads a range of periods in key order with no second lookup.
        let key = ([period] + dimensionColumns).joined(separator: ", ")
        return "CREATE TABLE \(name) (\(columns.joined(separator: ", ")), PRIMARY KEY (\(key)))\(sqlite ? " WITHOUT ROWID" : "")"
    }

    private static func tables(integer: String, sqlite: Bool) -> [String] {
        [
            table(deltas, period: "quarter", integer: integer, keyed: false, sqlite: sqlite),
            table(quarters, period: "quarter", integer: integer, keyed: true, sqlite: sqlite),
            table(days, period: "day", integer: integer, keyed: true, sqlite: sqlite),
        ]
    }

    /// Appends `row`'s contribution times `sign` as a delta.
    private static func append(_ row: String, sign: String) -> String {
        let columns = (["quarter"] + dimensionColumns + sums).joined(separator: ", ")
        let values = (["\(row)created_at / \(milliseconds)"] + dimensions(row).map(\.value) + contribution(row, sign: sign)).joined(separator: ", ")
        return "INSERT INTO \(deltas) (\(columns)) VALUES (\(values));"
    }

    /// `distinct` is how the backend says two values differ, NULLs included.
    private static func changed(_ distinct: String) -> String {
        inputs.map { "OLD.\($0) \(distinct) NEW.\($0)" }.joined(separator: " OR ")
    }

    /// Sums `source`'s rows (with a `quarter` column) into `table`'s groups of `period`.
    private static func fold(_ source: String, into table: String, period: String, sqlite: Bool) -> String {
        let key = ([period] + dimensionColumns).joined(separator: ", ")
        let periodValue = period == "day" ? "quarter / \(quartersADay)" : "quarter"
        let selected = ([periodValue] + dimensionColumns + sums.map { "SUM(\($0))" }).joined(separator: ", ")
        let adds = sums.map { "\($0) = \(table).\($0) + excluded.\($0)" }.joined(separator: ", ")
        // SQLite needs a WHERE before ON CONFLICT to tell the upsert from a join's ON.
        return """
            INSERT INTO \(table) (\(key), \(sums.joined(separator: ", ")))
            SELECT \(selected) FROM \(source)\(sqlite ? " WHERE true" : "") GROUP BY \(periodValue), \(dimensionColumns.joined(separator: ", "))
            ON CONFLICT (\(key)) DO UPDATE SET \(adds)
            """
    }

    /// Every communication stored before the triggers, as deltas folded at once.
    private static func backfill(sqlite: Bool) -> [String] {
        [
            "INSERT INTO \(deltas) SELECT created_at / \(milliseconds), \((dimensions("").map(\.value) + contribution("", sign: "")).joined(separator: ", ")) FROM communications"
        ] + compaction(sqlite: sqlite)
    }

    static let sqliteMigration: [String] = tables(integer: "INTEGER", sqlite: true) + [
        "CREATE TRIGGER analytics_on_insert AFTER INSERT ON communications BEGIN \(append("NEW.", sign: "")) END",
        """
        CREATE TRIGGER analytics_on_update AFTER UPDATE OF \(inputs.joined(separator: ", ")) ON communications
        WHEN \(changed("IS NOT")) BEGIN \(append("OLD.", sign: "-")) \(append("NEW.", sign: "")) END
        """,
        "CREATE TRIGGER analytics_on_delete AFTER DELETE ON communications BEGIN \(append("OLD.", sign: "-")) END",
    ] + backfill(sqlite: true) + indexes(postgres: false)

    static let postgresMigration: [String] = tables(integer: "bigint", sqlite: false) + [
        """
        CREATE FUNCTION analytics_delta() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT' THEN \(append("OLD.", sign: "-")) END IF;
          IF TG_OP <> 'DELETE' THEN \(append("NEW.", sign: "")) END IF;
          RETURN NULL;
        END $$
        """,
        "CREATE TRIGGER analytics_on_insert_or_delete AFTER INSERT OR DELETE ON communications FOR EACH ROW EXECUTE FUNCTION analytics_delta()",
        """
        CREATE TRIGGER analytics_on_update AFTER UPDATE OF \(inputs.joined(separator: ", ")) ON communications
        FOR EACH ROW WHEN (\(changed("IS DISTINCT FROM"))) EXECUTE FUNCTION analytics_delta()
        """,
    ] + backfill(sqlite: false) + indexes(postgres: true)

    /// Folds the deltas into the groups of both periods. SQLite: three statements in one write
    /// transaction (it has one writer). PostgreSQL: one statement, so that the deltas folded are
    /// exactly those it deletes (one committed meanwhile stays for the next time); the caller holds
    /// `compactionLock` first, as two folds upserting the same groups in different orders could
    /// deadlock.
    static func compaction(sqlite: Bool) -> [String] {
        if sqlite {
            return [fold(deltas, into: quarters, period: "quarter", sqlite: true), fold(deltas, into: days, period: "day", sqlite: true), "DELETE FROM \(deltas)"]
        }
        return [
            """
            WITH moved AS (DELETE FROM \(deltas) RETURNING *),
            by_quarter AS (\(fold("moved", into: quarters, period: "quarter", sqlite: false)) RETURNING 1)
            \(fold("moved", into: days, period: "day", sqlite: false))
            """,
        ]
    }

    /// PostgreSQL's advisory lock for a fold (an arbitrary constant).
    static let compactionLock: Int64 = 0x63726d5f74616c6c

    /// The report's rows of `AnalyticsSQL.parts`' shape for the whole quarters [first, end):
    /// whole UTC days from the day groups (when `byDay`), the rest from the quarter groups, and the
    /// deltas not folded yet; narrowed by channel and message type (the only filters groups know).
    static func rows(quarters first: Int64, _ end: Int64, byDay: Bool, channel: Channel?, messageType: MessageType?) -> [String] {
        var filters = ""
        if let channel { filters += " AND channel = '\(channel.rawValue)'" }
        if let messageType { filters += " AND message_type = '\(messageType.rawValue)'" }
        let rest = "NULLIF(channel, ''), message_type, NULLIF(provider, ''), status, NULLIF(first_channel, ''), " + sums.joined(separator: ", ")
        func select(_ period: String, as value: String? = nil, from table: String, _ range: (Int64, Int64)) -> String {
            "SELECT \(value ?? period), \(rest) FROM \(table) WHERE \(period) >= \(range.0) AND \(period) < \(range.1)\(filters)"
        }
        let (firstDay, endDay) = ((first + quartersADay - 1) / quartersADay, end / quartersADay)
        guard byDay, firstDay < endDay else {
            return [select("quarter", from: quarters, (first, end)), select("quarter", from: deltas, (first, end))]
        }
        // A day's groups stand at its first quarter: the cube ignores the period, and the series
        // never reads days.
        return [
            select("day", as: "day * \(quartersADay)", from: days, (firstDay, endDay)),
            select("quarter", from: quarters, (first, firstDay * quartersADay)),
            select("quarter", from: quarters, (endDay * quartersADay, end)),
            select("quarter", from: deltas, (first, end)),
        ]
    }

    /// The latencies' percentiles walk these in order instead of sorting every communication: per
    /// channel, by latency, with the acceptance time to filter on inside the index. The stalled
    /// count reads what is not sent yet, and what was sent recently and awaits its receipt.
    /// PostgreSQL returns an expression's value from an index only when the columns it is made
    /// of are in it too (INCLUDE), and estimates the channel's share only with statistics on it;
    /// without them it would sort instead.
    static func indexes(postgres: Bool) -> [String] {
        AnalyticsSQL.measures.map { measure in
            let included = postgres ? " INCLUDE (\(measure.to), \(measure.from), channel_used, last_channel)" : ""
            return "CREATE INDEX analytics_\(measure.name) ON communications (\(AnalyticsSQL.channel), (\(measure.value)), created_at)\(included) WHERE \(measure.indexed(""))"
        } + [
            "CREATE INDEX analytics_unsent ON communications (created_at) WHERE \(AnalyticsSQL.unsent)",
            "CREATE INDEX analytics_awaiting_receipt ON communications (sent_at, created_at, channel_used, last_channel) WHERE \(AnalyticsSQL.awaitingReceipt)",
        ] + (postgres ? ["CREATE STATISTICS analytics_channel ON (\(AnalyticsSQL.channel)) FROM communications", "ANALYZE communications"] : [])
    }
}
