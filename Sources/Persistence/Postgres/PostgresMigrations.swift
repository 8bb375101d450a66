import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL schema, as named migrations that are only ever appended to. The same tables and
/// meanings as the SQLite schema; each statement separate, because the extended query protocol runs
/// one statement a query. (PostgreSQL support arrived after SQLite's 0002, so its 0001 already has
/// the sealed columns and the work queue.)
///
/// Shipped migrations never change: a database that ran one never runs it again, so an edited
/// migration would leave databases out there with one schema and new ones with another.
/// `MigrationChecksumTests` pins a SHA-256 of every migration's SQL in `shipped`; when it fails,
/// restore the old text and put the change in a new migration at the end of the list. Names are
/// recorded in `schema_migrations` and never change either.
enum PostgresMigrations {
    /// Every migration, in the order it runs; each string is one statement, run without binds.
    static let shipped: [Migration] = [
        Migration("0001_communications", sql: [
            """
            CREATE TABLE communications (
              id text PRIMARY KEY,
              plan_id text NOT NULL,
              client_id text NOT NULL,
              message_type text NOT NULL,
              urgency text NOT NULL,
              status text NOT NULL,
              channel_used text,
              priority integer NOT NULL,
              decision text NOT NULL,
              recipient bytea NOT NULL,
              context bytea NOT NULL,
              preferred_channel text,
              idempotency_key text,
              created_at bigint NOT NULL,
              updated_at bigint NOT NULL,
              next_attempt_at bigint,
              lease_owner text,
              lease_expires_at bigint
            )
            """,
            "CREATE INDEX communications_by_plan ON communications (plan_id, created_at DESC, id DESC)",
            "CREATE INDEX communications_by_client ON communications (client_id, created_at DESC, id DESC)",
            "CREATE INDEX communications_by_time ON communications (created_at DESC, id DESC)",
            "CREATE INDEX communications_due ON communications (next_attempt_at) WHERE next_attempt_at IS NOT NULL",
            """
            CREATE TABLE attempts (
              communication_id text NOT NULL REFERENCES communications (id) ON DELETE CASCADE,
              number integer NOT NULL,
              channel text NOT NULL,
              provider text NOT NULL,
              started_at bigint NOT NULL,
              latency_ms integer NOT NULL,
              outcome text NOT NULL,
              provider_message_id text,
              error_category text,
              error text,
              PRIMARY KEY (communication_id, number)
            )
            """,
            "CREATE INDEX attempts_by_provider_message ON attempts (provider_message_id) WHERE provider_message_id IS NOT NULL",
            """
            CREATE TABLE status_events (
              seq bigserial PRIMARY KEY,
              communication_id text NOT NULL REFERENCES communications (id) ON DELETE CASCADE,
              status text NOT NULL,
              channel text,
              detail text,
              at bigint NOT NULL
            )
            """,
            "CREATE INDEX status_events_by_communication ON status_events (communication_id, at)",
            """
            CREATE TABLE client_preferences (
              client_id text PRIMARY KEY,
              preferred_channels text NOT NULL,
              timezone text NOT NULL,
              quiet_hours_start text NOT NULL,
              quiet_hours_end text NOT NULL,
              opt_out_email boolean NOT NULL,
              opt_out_sms boolean NOT NULL,
              opt_out_whatsapp boolean NOT NULL,
              language_preference text NOT NULL,
              updated_at bigint NOT NULL
            )
            """,
            "CREATE TABLE client_keys (client_id text PRIMARY KEY, wrapped_key bytea NOT NULL, created_at bigint NOT NULL)",
            """
            CREATE TABLE client_contacts (
              client_id text NOT NULL,
              channel text NOT NULL,
              address_index bytea NOT NULL,
              address bytea NOT NULL,
              updated_at bigint NOT NULL,
              PRIMARY KEY (client_id, channel, address_index)
            )
            """,
            "CREATE INDEX client_contacts_by_address ON client_contacts (address_index)",
            """
            CREATE TABLE idempotency_keys (
              key text PRIMARY KEY,
              request_hash bytea NOT NULL,
              communication_id text NOT NULL REFERENCES communications (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
              created_at bigint NOT NULL
            )
            """,
            """
            CREATE TABLE audit_log (
              seq bigserial PRIMARY KEY,
              at bigint NOT NULL,
              action text NOT NULL,
              client_id text,
              communication_id text,
              detail text
            )
            """,
            "CREATE INDEX audit_log_by_client ON audit_log (client_id, at)",
            "CREATE TABLE encryption (id integer PRIMARY KEY CHECK (id = 1), key_check bytea NOT NULL)",
        ]),
        // As SQLite's 0003: sealed email attachments apart from their communication, and the template
        // variables an attempt's context lacked.
        Migration("0002_attachments_template_gaps", sql: [
            """
            CREATE TABLE attachments (
              communication_id text NOT NULL REFERENCES communications (id) ON DELETE CASCADE,
              position integer NOT NULL,
              filename bytea NOT NULL,
              content_type text NOT NULL,
              data bytea NOT NULL,
              PRIMARY KEY (communication_id, position)
            )
            """,
            "ALTER TABLE communications ADD COLUMN attachment_count integer NOT NULL DEFAULT 0",
            "ALTER TABLE attempts ADD COLUMN missing_variables text",
        ]),
        // As SQLite's 0004: when each client last wrote to us on each channel. And which sidecar
        // accepted each communication, so a receipt another sidecar's webhook gets reaches the
        // workflow that asked (LISTEN/NOTIFY).
        Migration("0003_conversations_origin", sql: [
            """
            CREATE TABLE conversations (
              client_id text NOT NULL,
              channel text NOT NULL,
              last_inbound_at bigint NOT NULL,
              PRIMARY KEY (client_id, channel)
            )
            """,
            "ALTER TABLE communications ADD COLUMN origin text",
        ]),
        // No schema change: attempts may now be `skipped` (no provider, the reason in `error`), which an
        // older binary cannot read. Its name is what stops an older sidecar from opening this database.
        Migration("0004_skipped_attempts", sql: ["SELECT 1"]),
        // As SQLite's 0006: the event log. A sequence would not do: its values are taken at insert
        // and can commit out of order, so a reader paging by seq could pass one that commits later
        // and miss it for ever. Instead every event-writing transaction takes the next number from
        // `event_counter` as its last statement, holding the row's lock until it commits: seq order
        // is commit order, and a rolled-back transaction gives its number back (no gaps).
        Migration("0005_event_log", sql: [
            "CREATE TABLE event_counter (id integer PRIMARY KEY CHECK (id = 1), last bigint NOT NULL)",
            "INSERT INTO event_counter (id, last) VALUES (1, 0)",
            """
            CREATE TABLE events (
              seq bigint PRIMARY KEY,
              method text NOT NULL,
              communication_id text,
              client_id text,
              key_id text,
              params text NOT NULL,
              personal bytea,
              personal_id text,
              at bigint NOT NULL
            )
            """,
            "CREATE INDEX events_by_communication ON events (communication_id, seq) WHERE communication_id IS NOT NULL",
            "CREATE INDEX events_by_client ON events (client_id, seq) WHERE client_id IS NOT NULL",
            "CREATE INDEX events_by_time ON events (at)",
            """
            CREATE TABLE inbound_messages (
              channel text NOT NULL,
              provider_message_id text NOT NULL,
              client_id text,
              communication_id text,
              intent text NOT NULL,
              received_at bigint NOT NULL,
              seq bigint,
              PRIMARY KEY (channel, provider_message_id)
            )
            """,
            "CREATE INDEX inbound_messages_by_client ON inbound_messages (client_id, received_at) WHERE client_id IS NOT NULL",
        ]),
        // As SQLite's 0007: erasure marks, who acted in the audit trail, and time indexes for retention.
        Migration("0006_compliance", sql: [
            "ALTER TABLE communications ADD COLUMN erased_at bigint",
            "CREATE INDEX communications_by_update ON communications (updated_at)",
            "CREATE TABLE client_erasures (client_id text PRIMARY KEY, erased_at bigint NOT NULL, reason text)",
            "ALTER TABLE audit_log ADD COLUMN actor text NOT NULL DEFAULT 'system'",
            "CREATE INDEX audit_log_by_time ON audit_log (at)",
            "CREATE INDEX inbound_messages_by_time ON inbound_messages (received_at)",
        ]),
        // As SQLite's 0008: the key a rotation under way goes to.
        Migration("0007_rotation_target", sql: ["ALTER TABLE encryption ADD COLUMN rotating_to bytea"]),
        // As SQLite's 0009: the columns analytics sums instead of reading the history.
        Migration("0008_analytics_rollups", sql: AnalyticsRollups.migration(integer: "bigint")),
        // As SQLite's 0010: tallies per day and quarter hour kept by triggers, and the indexes the
        // latencies' percentiles and the stalled count walk.
        Migration("0009_analytics_quarters", sql: AnalyticsQuarters.postgresMigration),
        // PostgreSQL only: the rows that hang off a communication are no longer checked against it
        // by foreign keys; a trigger deletes them with it instead. Why: PostgreSQL checks a foreign
        // key with a query whose plan each connection caches, made when the communications table
        // was small. Made then, the plan scans the table, and the connection kept scanning it for
        // every attempt and every status change: on a new database, 20,000 emails cost the server
        // 2.4 ms each instead of 0.7 ms, more the longer it ran. Planned afresh every time instead,
        // the checks were still a tenth of the server's CPU on the send path. The store's writes
        // never needed them: every row added for a communication is written in the transaction
        // that inserts it, or in one holding its row locked (`PostgresBatchReads`), and an attempt
        // for a communication that is not stored is refused by the store. The trigger runs once a
        // DELETE statement, with the deleted rows as a table: nothing on inserts, and a sidecar of an
        // older version still running on the database, whose purge counted on ON DELETE CASCADE,
        // leaves nothing behind. Idempotency keys are found by key (the communication names its
        // own), not by their communication, which has no index.
        // SQLite keeps its foreign keys: it checks them by looking in the index, with no plan.
        Migration("0010_children_unchecked", sql: [
            "ALTER TABLE attempts DROP CONSTRAINT IF EXISTS attempts_communication_id_fkey",
            "ALTER TABLE status_events DROP CONSTRAINT IF EXISTS status_events_communication_id_fkey",
            "ALTER TABLE idempotency_keys DROP CONSTRAINT IF EXISTS idempotency_keys_communication_id_fkey",
            "ALTER TABLE attachments DROP CONSTRAINT IF EXISTS attachments_communication_id_fkey",
            """
            CREATE FUNCTION communications_children_gone() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              DELETE FROM attempts WHERE communication_id IN (SELECT id FROM gone);
              DELETE FROM status_events WHERE communication_id IN (SELECT id FROM gone);
              DELETE FROM attachments WHERE communication_id IN (SELECT id FROM gone);
              DELETE FROM idempotency_keys k USING gone
                WHERE k.key = gone.idempotency_key AND k.communication_id = gone.id;
              RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER communications_children_gone AFTER DELETE ON communications
            REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION communications_children_gone()
            """,
        ]),
    ]

    /// An arbitrary constant: every sidecar takes this advisory lock to migrate, so two starting at
    /// once do not both apply the same migration.
    private static let lockKey: Int64 = 0x63726d5f6d6967

    static func apply(on client: PostgresClient, cipher: FieldCipher, logger: Logger) async throws {
        // Under the lock too: two sidecars starting together would otherwise race even on
        // CREATE TABLE IF NOT EXISTS (it is not atomic in PostgreSQL).
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (identifier text PRIMARY KEY, applied_at bigint NOT NULL)",
                logger: logger
            )
        }
        let known = Set(shipped.map(\.name))
        for migration in shipped {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
                var applied: Set<String> = []
                for try await identifier in try await connection.query("SELECT identifier FROM schema_migrations", logger: logger).decode(String.self) {
                    applied.insert(identifier)
                }
                if !applied.subtracting(known).isEmpty {
                    throw StoreError(
                        .incompatibleSchema,
                        "the database was written by a newer crm-sidecar (it has migrations this binary does not know); upgrade the binary"
                    )
                }
                guard !applied.contains(migration.name) else { return }
                for statement in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                try await connection.query("INSERT INTO schema_migrations (identifier, applied_at) VALUES (\(migration.name), \(now))", logger: logger)
                logger.info("applied database migration", metadata: ["db.migration": "\(migration.name)"])
            }
        }
        // The first sidecar records its key; every later one must have the same.
        let check = cipher.keyCheck
        try await client.query("INSERT INTO encryption (id, key_check) VALUES (1, \(check)) ON CONFLICT (id) DO NOTHING", logger: logger)
        // Twice at most: two sidecars starting a rotation at once both try to record its target,
        // and the one that did not must then agree with the one that did.
        for _ in 0..<2 {
            let row = try await client.query("SELECT key_check, rotating_to FROM encryption WHERE id = 1", logger: logger).collect().first
            let (stored, target) = try row?.decode((Data, Data?).self) ?? (check, nil)
            guard let recording = try cipher.verify(storedCheck: stored, rotatingTo: target) else { return }
            try await client.query("UPDATE encryption SET rotating_to = \(recording) WHERE id = 1 AND rotating_to IS NULL", logger: logger)
        }
    }
}
