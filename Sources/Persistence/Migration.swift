import Crypto
import Foundation

/// One named schema change as it shipped: its identifier and the SQL it runs, in order.
///
/// Kept as data so a test can pin each shipped migration's checksum (`MigrationChecksumTests`): a
/// database that already ran a migration never runs it again, so editing one would leave existing
/// databases and new ones with different schemas, silently. A change goes into a new migration.
struct Migration: Sendable {
    /// The identifier recorded in the database once applied; never renamed.
    let name: String
    /// The SQL texts, each run (or, for a migration with Swift code, used) as one unit.
    let sql: [String]

    init(_ name: String, sql: [String]) {
        self.name = name
        self.sql = sql
    }

    /// SHA-256, in hex, of the SQL texts, each followed by a NUL so that moving text from one
    /// element to the next changes it too. Only the SQL counts: the name is pinned beside it.
    var checksum: String {
        var hash = SHA256()
        for text in sql {
            hash.update(data: Data(text.utf8))
            hash.update(data: Data([0]))
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
