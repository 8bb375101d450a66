import PostgresNIO

/// One statement whose shape depends on its data (how many rows, which writes), written piece by
/// piece with its binds beside it: several writes of a transaction joined as `WITH` clauses, so they
/// reach the server in one round trip instead of one each.
///
/// Why not `PostgresQuery`'s string interpolation: it numbers a bind where it is written, and SQL
/// shared with SQLite (`AnalyticsRollups`) takes its placeholders by number, some of them twice.
///
/// `PostgresStore.commit` adds clauses of its own (`gate`, `next`, `rows`, `logged`, `stamped`); the writes' clauses
/// are named apart from those and from the tables. Several transactions' writes can share one
/// statement (`PostgresGroupCommit`): each writes under a `scope` of its own, which prefixes the
/// names of its clauses. Rows that many writes add to one table are `gather`ed into one clause
/// for all of them instead: a clause costs the server its planning and set-up however few rows it
/// has, and a batch's statement would otherwise have several for every write in it.
struct PostgresStatement {
    private(set) var sql: String
    /// Prefixed to the name of every clause `with` writes.
    var scope = ""
    private var binds: PostgresBindings
    /// The `WITH` clauses written so far that the event counter waits for (see `gate`).
    private var writes: [String] = []
    private var clauses = 0
    /// Clauses whose rows are still being gathered, in the order of their first row; written by
    /// `writeGathered`.
    private var gathered: [(name: String, head: String, rows: String, tail: String)] = []

    init(capacity: Int = 2048) {
        sql = ""
        sql.reserveCapacity(capacity)
        binds = PostgresBindings(capacity: 32)
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }

    /// Whether no `WITH` clause has been written or gathered yet.
    var isEmpty: Bool { clauses == 0 && gathered.isEmpty }

    mutating func append(_ literal: String) { sql += literal }

    /// Binds `value`; its placeholder, `$n`. A nil takes its type from where it is written.
    mutating func bind(_ value: (any PostgresThrowingDynamicTypeEncodable)?) throws -> String {
        if let value { try binds.append(value) } else { binds.appendNull() }
        return "$\(binds.count)"
    }

    /// Binds `values` and writes them as one parenthesised row: `($1, $2, ...)`.
    mutating func row(_ values: (any PostgresThrowingDynamicTypeEncodable)?...) throws {
        sql += "("
        for (index, value) in values.enumerated() {
            if index > 0 { sql += ", " }
            sql += try bind(value)
        }
        sql += ")"
    }

    /// Writes a `WITH` clause, `name AS (body)`, with `name` in the current scope; that name, for
    /// later clauses to read. A data-modifying body ends in `RETURNING` so that `gate` can wait for it.
    @discardableResult
    mutating func with(_ name: String, write: Bool = true, _ body: (inout PostgresStatement) throws -> Void) rethrows -> String {
        let name = scope + name
        sql += clauses == 0 ? "WITH " : ", "
        sql += name
        sql += " AS ("
        try body(&self)
        sql += ")"
        clauses += 1
        if write { writes.append(name) }
        return name
    }

    /// Adds `row`, placeholders already bound and parenthesised, to the clause `name` (never scoped),
    /// written once every write has added its rows as `name AS (head row, row, ... tail)`: `head`
    /// and `tail` are those of its first row. A data-modifying clause's tail ends in `RETURNING`,
    /// as `with`'s body does.
    mutating func gather(_ name: String, head: String, tail: String, row: String) {
        if let index = gathered.firstIndex(where: { $0.name == name }) {
            gathered[index].rows += ", " + row
        } else {
            gathered.append((name, head, row, tail))
        }
    }

    /// Binds `values` as one row of the clause `name` (see `gather`).
    mutating func gather(_ name: String, head: String, tail: String, values: (any PostgresThrowingDynamicTypeEncodable)?...) throws {
        let placeholders = try values.map { try bind($0) }
        gather(name, head: head, tail: tail, row: "(" + placeholders.joined(separator: ", ") + ")")
    }

    /// Writes the gathered clauses, unscoped; `gate` does it first.
    mutating func writeGathered() {
        let clauses = gathered
        gathered = []
        let scope = self.scope
        self.scope = ""
        for clause in clauses {
            with(clause.name) { $0.append(clause.head + clause.rows + clause.tail) }
        }
        self.scope = scope
    }

    /// A clause, `gate`, that has run every write so far, or nil when there is none; what takes the
    /// event counter joins it. The gathered clauses are written first.
    ///
    /// Why: PostgreSQL runs a `WITH` write when something first reads it, and the rest after the
    /// main query, in no promised order. Were the counter's row locked before a write that waits
    /// for another transaction's row (a contact both are adding), and that transaction waited for
    /// the counter, they would deadlock. Counting every write's rows first makes the counter last.
    mutating func gate() -> String? {
        writeGathered()
        guard !writes.isEmpty else { return nil }
        let counts = writes.map { "(SELECT count(*) FROM \($0))" }.joined(separator: " + ")
        writes = []
        return with("gate", write: false) { $0.append("SELECT \(counts) AS rows") }
    }
}
