import GRDB
import Logging

/// The SQLite schema, as named migrations that are only ever appended to: a migration that has
/// shipped is never edited, because databases out there already ran it.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("0001_communications") { db in
            try db.execute(sql: """
                CREATE TABLE communications (
                  id TEXT PRIMARY KEY NOT NULL,
                  plan_id TEXT NOT NULL,
                  client_id TEXT NOT NULL,
                  message_type TEXT NOT NULL,
                  urgency TEXT NOT NULL,
                  status TEXT NOT NULL,
                  channel_used TEXT,
                  priority INTEGER NOT NULL,
                  decision TEXT NOT NULL,
                  recipient TEXT NOT NULL,
                  context TEXT NOT NULL,
                  preferred_channel TEXT,
                  idempotency_key TEXT,
                  created_at INTEGER NOT NULL,
                  updated_at INTEGER NOT NULL
                );
                CREATE INDEX communications_by_plan ON communications (plan_id, created_at DESC, id DESC);
                CREATE INDEX communications_by_client ON communications (client_id, created_at DESC, id DESC);
                CREATE INDEX communications_by_time ON communications (created_at DESC, id DESC);

                CREATE TABLE attempts (
                  communication_id TEXT NOT NULL REFERENCES communications (id) ON DELETE CASCADE,
                  number INTEGER NOT NULL,
                  channel TEXT NOT NULL,
                  provider TEXT NOT NULL,
                  started_at INTEGER NOT NULL,
                  latency_ms INTEGER NOT NULL,
                  outcome TEXT NOT NULL,
                  provider_message_id TEXT,
                  error_category TEXT,
                  error TEXT,
                  PRIMARY KEY (communication_id, number)
                );
                CREATE INDEX attempts_by_provider_message ON attempts (provider_message_id)
                  WHERE provider_message_id IS NOT NULL;

                CREATE TABLE status_events (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  communication_id TEXT NOT NULL REFERENCES communications (id) ON DELETE CASCADE,
                  status TEXT NOT NULL,
                  channel TEXT,
                  detail TEXT,
                  at INTEGER NOT NULL
                );
                CREATE INDEX status_events_by_communication ON status_events (communication_id, at);

                CREATE TABLE client_preferences (
                  client_id TEXT PRIMARY KEY NOT NULL,
                  preferred_channels TEXT NOT NULL,
                  timezone TEXT NOT NULL,
                  quiet_hours_start TEXT NOT NULL,
                  quiet_hours_end TEXT NOT NULL,
                  opt_out_email INTEGER NOT NULL,
                  opt_out_sms INTEGER NOT NULL,
                  opt_out_whatsapp INTEGER NOT NULL,
                  language_preference TEXT NOT NULL,
                  updated_at INTEGER NOT NULL
                );
                """)
        }
        return migrator
    }

    static func apply(to pool: DatabasePool, logger: Logger) throws(StoreError) {
        let migrator = migrator
        do {
            // A newer sidecar may have changed the meaning of tables this one would write to.
            if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
                throw StoreError(
                    .incompatibleSchema,
                    "the database was written by a newer crm-sidecar (it has migrations this binary does not know); upgrade the binary"
                )
            }
            let pending = try pool.read { try migrator.appliedIdentifiers($0) }
            try migrator.migrate(pool)
            let applied = migrator.migrations.filter { !pending.contains($0) }
            if !applied.isEmpty {
                logger.info("applied database migrations", metadata: ["db.migrations": .string(applied.joined(separator: ","))])
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.unavailable, "cannot migrate the SQLite database: \(SQLiteStore.describe(error))")
        }
    }
}
