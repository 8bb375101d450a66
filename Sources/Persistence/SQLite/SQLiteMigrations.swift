import CRMModel
import Foundation
import GRDB
import Logging

/// The SQLite schema, as named migrations that are only ever appended to.
///
/// Shipped migrations never change: a database that ran one never runs it again, so an edited
/// migration would leave databases out there with one schema and new ones with another.
/// `MigrationChecksumTests` pins a SHA-256 of every migration's SQL in `shipped`; when it fails,
/// restore the old text and put the change in a new migration at the end of the list. Names are
/// recorded in `grdb_migrations` and never change either.
enum SQLiteMigrations {
    /// Every migration, in the order it runs. All but 0002 run their SQL as it stands.
    static let shipped: [Migration] = [
        Migration("0001_communications", sql: [communications]),
        // Runs Swift code besides its SQL (`encryptionContactsQueue`), which seals what 0001 wrote in
        // the clear: its SQL is pinned here; its code is covered by `SQLiteStoreTests.sealingOnUpgrade`
        // and, on an empty database, by the conformance suite.
        Migration(sealing, sql: [sealedTables, everyCommunication, sealedCopy, sealedSwap]),
        Migration("0003_attachments_template_gaps", sql: [attachmentsTemplateGaps]),
        Migration("0004_conversations", sql: [conversations]),
        // No schema change: attempts may now be `skipped` (no provider, the reason in `error`), which an
        // older binary cannot read. Its name is what stops an older sidecar from opening this database.
        Migration("0005_skipped_attempts", sql: ["SELECT 1"]),
        Migration("0006_event_log", sql: [eventLog]),
        Migration("0007_compliance", sql: [compliance]),
        // The key a rotation under way goes to: sidecars rotating to any other are refused.
        Migration("0008_rotation_target", sql: ["ALTER TABLE encryption ADD COLUMN rotating_to BLOB"]),
        // The columns analytics sums instead of reading the history (see `AnalyticsRollups`).
        Migration("0009_analytics_rollups", sql: AnalyticsRollups.migration(integer: "INTEGER")),
        // Tallies per day and quarter hour kept by triggers (see `AnalyticsQuarters`), and the
        // indexes the latencies' percentiles and the stalled count walk.
        Migration("0010_analytics_quarters", sql: AnalyticsQuarters.sqliteMigration),
    ]

    /// The one migration that runs Swift code besides its SQL.
    private static let sealing = "0002_encryption_contacts_queue"

    /// The migrations; `cipher` seals what 0002 finds in the clear.
    static func migrator(cipher: FieldCipher) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in shipped {
            migrator.registerMigration(migration.name) { db in
                if migration.name == sealing {
                    try encryptionContactsQueue(db, cipher: cipher)
                } else {
                    for sql in migration.sql {
                        try db.execute(sql: sql)
                    }
                }
            }
        }
        return migrator
    }

    private static let communications = """
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
        """

    // Email attachments live apart from their communication (they can be megabytes and are read
    // only when an email is sent), sealed under the client's key like the rest of its data; an
    // attempt names the template variables the context lacked.
    private static let attachmentsTemplateGaps = """
        CREATE TABLE attachments (
          communication_id TEXT NOT NULL REFERENCES communications (id) ON DELETE CASCADE,
          position INTEGER NOT NULL,
          filename BLOB NOT NULL,
          content_type TEXT NOT NULL,
          data BLOB NOT NULL,
          PRIMARY KEY (communication_id, position)
        );
        ALTER TABLE communications ADD COLUMN attachment_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE attempts ADD COLUMN missing_variables TEXT;
        """

    // When each client last wrote to us on each channel: a WhatsApp message opens Meta's 24-hour
    // window for free-form replies.
    private static let conversations = """
        CREATE TABLE conversations (
          client_id TEXT NOT NULL,
          channel TEXT NOT NULL,
          last_inbound_at INTEGER NOT NULL,
          PRIMARY KEY (client_id, channel)
        );
        """

    // The event log (a transactional outbox): every notification, written with the change it
    // announces. AUTOINCREMENT so a seq is never handed out twice, even once retention has deleted
    // the newest rows; SQLite has one writer at a time, so seq order is commit order. Inbound replies
    // are kept by their provider's message id, so a webhook sent again is stored once; their sender
    // and text live sealed in their event.
    private static let eventLog = """
        CREATE TABLE events (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          method TEXT NOT NULL,
          communication_id TEXT,
          client_id TEXT,
          key_id TEXT,
          params TEXT NOT NULL,
          personal BLOB,
          personal_id TEXT,
          at INTEGER NOT NULL
        );
        CREATE INDEX events_by_communication ON events (communication_id, seq) WHERE communication_id IS NOT NULL;
        CREATE INDEX events_by_client ON events (client_id, seq) WHERE client_id IS NOT NULL;
        CREATE INDEX events_by_time ON events (at);

        CREATE TABLE inbound_messages (
          channel TEXT NOT NULL,
          provider_message_id TEXT NOT NULL,
          client_id TEXT,
          communication_id TEXT,
          intent TEXT NOT NULL,
          received_at INTEGER NOT NULL,
          seq INTEGER,
          PRIMARY KEY (channel, provider_message_id)
        );
        CREATE INDEX inbound_messages_by_client ON inbound_messages (client_id, received_at) WHERE client_id IS NOT NULL;
        """

    // Erasure marks communications instead of deleting them (they stay for analytics), and remembers
    // when each client was erased; the audit trail says who acted; retention finds old rows by time.
    private static let compliance = """
        ALTER TABLE communications ADD COLUMN erased_at INTEGER;
        CREATE INDEX communications_by_update ON communications (updated_at);
        CREATE TABLE client_erasures (
          client_id TEXT PRIMARY KEY NOT NULL,
          erased_at INTEGER NOT NULL,
          reason TEXT
        );
        ALTER TABLE audit_log ADD COLUMN actor TEXT NOT NULL DEFAULT 'system';
        CREATE INDEX audit_log_by_time ON audit_log (at);
        CREATE INDEX inbound_messages_by_time ON inbound_messages (received_at);
        """

    /// Seals contact details and context under per-client keys, adds the client key, contact,
    /// idempotency and audit tables, and gives communications the work-queue columns.
    ///
    /// SQLite cannot change a column's type, so `communications` is rebuilt (SQLite's documented
    /// twelve-step way; GRDB runs migrations with foreign keys off and checks them at the end), and
    /// rows written by 0001 in the clear are sealed on the way.
    private static func encryptionContactsQueue(_ db: Database, cipher: FieldCipher) throws {
        try db.execute(sql: sealedTables)
        let rows = try Row.fetchCursor(db, sql: everyCommunication)
        while let row = try rows.next() {
            let id: String = row["id"]
            let clientID: String = row["client_id"]
            let key = try SQLiteStore.clientKey(creatingFor: clientID, cipher: cipher, in: db)
            let recipient: String = row["recipient"]
            let context: String = row["context"]
            let status = CommunicationStatus(rawValue: row["status"])
            // Work 0001 left unsent is due at once: it was being sent when that version stopped.
            let dueAt: Int64? = status?.awaitsSending == true ? row["updated_at"] : nil
            try db.execute(
                sql: sealedCopy,
                arguments: [
                    try key.seal(Data(recipient.utf8), "communications.recipient", row: id),
                    try key.seal(Data(context.utf8), "communications.context", row: id),
                    dueAt, id,
                ]
            )
            if let decoded = try? JSONDecoder().decode(Recipient.self, from: Data(recipient.utf8)) {
                for contact in try ContactColumns.rows(clientID: clientID, recipient: decoded, key: key, at: row["updated_at"]) {
                    try SQLiteStore.upsert(contact, in: db)
                }
            }
        }
        try db.execute(sql: sealedSwap)
    }

    private static let sealedTables = """
        CREATE TABLE client_keys (
          client_id TEXT PRIMARY KEY NOT NULL,
          wrapped_key BLOB NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE TABLE client_contacts (
          client_id TEXT NOT NULL,
          channel TEXT NOT NULL,
          address_index BLOB NOT NULL,
          address BLOB NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (client_id, channel, address_index)
        );
        CREATE INDEX client_contacts_by_address ON client_contacts (address_index);
        CREATE TABLE idempotency_keys (
          key TEXT PRIMARY KEY NOT NULL,
          request_hash BLOB NOT NULL,
          communication_id TEXT NOT NULL REFERENCES communications (id) ON DELETE CASCADE,
          created_at INTEGER NOT NULL
        );
        CREATE TABLE audit_log (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          at INTEGER NOT NULL,
          action TEXT NOT NULL,
          client_id TEXT,
          communication_id TEXT,
          detail TEXT
        );
        CREATE INDEX audit_log_by_client ON audit_log (client_id, at);
        CREATE TABLE encryption (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          key_check BLOB NOT NULL
        );

        CREATE TABLE communications_new (
          id TEXT PRIMARY KEY NOT NULL,
          plan_id TEXT NOT NULL,
          client_id TEXT NOT NULL,
          message_type TEXT NOT NULL,
          urgency TEXT NOT NULL,
          status TEXT NOT NULL,
          channel_used TEXT,
          priority INTEGER NOT NULL,
          decision TEXT NOT NULL,
          recipient BLOB NOT NULL,
          context BLOB NOT NULL,
          preferred_channel TEXT,
          idempotency_key TEXT,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          next_attempt_at INTEGER,
          lease_owner TEXT,
          lease_expires_at INTEGER
        );
        """

    private static let everyCommunication = "SELECT * FROM communications"

    /// Bound: the sealed recipient, the sealed context, when it is due, and its id.
    private static let sealedCopy = """
        INSERT INTO communications_new
        SELECT id, plan_id, client_id, message_type, urgency, status, channel_used, priority, decision,
          ?, ?, preferred_channel, idempotency_key, created_at, updated_at, ?, NULL, NULL
        FROM communications WHERE id = ?
        """

    private static let sealedSwap = """
        DROP TABLE communications;
        ALTER TABLE communications_new RENAME TO communications;
        CREATE INDEX communications_by_plan ON communications (plan_id, created_at DESC, id DESC);
        CREATE INDEX communications_by_client ON communications (client_id, created_at DESC, id DESC);
        CREATE INDEX communications_by_time ON communications (created_at DESC, id DESC);
        CREATE INDEX communications_due ON communications (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
        """

    /// GRDB decides what is pending before each migration's own transaction, so two sidecars opening
    /// one new file together can both try a migration: the loser's attempt fails (the table already
    /// exists, or the write lock stayed taken past the busy timeout) and on a second look finds it
    /// applied by the other. Three attempts 200 ms apart; each may also wait out the 5 s busy
    /// timeout, so about 15 s at most. Then the last attempt's error is thrown: a `StoreError` as it
    /// is, anything else as `.unavailable` ("cannot migrate the SQLite database: ...").
    private static let migrationRetry = BlockingRetry(attempts: 3, pause: .milliseconds(200))

    static func apply(to pool: DatabasePool, cipher: FieldCipher, logger: Logger) throws(StoreError) {
        let migrator = migrator(cipher: cipher)
        do {
            // A newer sidecar may have changed the meaning of tables this one would write to.
            if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
                throw StoreError(
                    .incompatibleSchema,
                    "the database was written by a newer crm-sidecar (it has migrations this binary does not know); upgrade the binary"
                )
            }
            let appliedBefore = try pool.read { try migrator.appliedIdentifiers($0) }
            // Any error may be the lost race, so any is retried; a real one comes back each time.
            try migrationRetry.run(retryingWhen: { _ in true }) { try migrator.migrate(pool) }
            try pool.write { db in
                let row = try Row.fetchOne(db, sql: "SELECT key_check, rotating_to FROM encryption WHERE id = 1")
                let stored: Data? = row?["key_check"]
                if let target = try cipher.verify(storedCheck: stored, rotatingTo: row?["rotating_to"]) {
                    try db.execute(sql: "UPDATE encryption SET rotating_to = ? WHERE id = 1", arguments: [target])
                }
                if stored == nil {
                    try db.execute(sql: "INSERT INTO encryption (id, key_check) VALUES (1, ?)", arguments: [cipher.keyCheck])
                }
            }
            let applied = migrator.migrations.filter { !appliedBefore.contains($0) }
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
