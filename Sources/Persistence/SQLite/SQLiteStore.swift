package import CRMModel
import CSQLiteWALBatch
package import Foundation
import GRDB
package import Logging

/// The embedded default: one SQLite file in WAL mode, through GRDB.
///
/// Writes go through GRDB's single writer, so the store never races itself; readers run beside it.
/// Writes that arrive together share one transaction and one commit (`GroupCommit`).
/// `synchronous` stays at SQLite's FULL: an acknowledged communication survives power loss, not
/// only a crash of the process.
package final class SQLiteStore: Store {
    private let pool: DatabasePool
    /// Every write of the store goes through it: writes arriving together share one commit.
    private let writes: GroupCommit
    private let cipher: FieldCipher
    /// Keys unwrapped before, so that an accept seals its rows before it takes the writer.
    private let clientKeys = ClientKeyCache()
    /// ENABLE_AUDIT_LOGGING: false keeps only the entries the law needs (`AuditEntry.isRequired`).
    private let auditEverything: Bool
    private let encoder = WireJSON.makeEncoder()
    private let decoder = WireJSON.makeDecoder()
    private let logger: Logger

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    package init(path: String, cipher: FieldCipher, auditEverything: Bool = true, logger: Logger) throws(StoreError) {
        self.cipher = cipher
        self.auditEverything = auditEverything
        self.logger = logger
        // Before SQLite's first use in the process, which the VFS's registration is: statement
        // journals in memory (StatementJournals.c). Too late, SQLite keeps its default, slower.
        if !crm_statement_journals_configure() {
            logger.debug("SQLite was in use before the store opened: its statement journals go to a file past 64 KB")
        }
        // Before the first connection opens: every connection of the process then writes a
        // commit's WAL frames at once (WALBatch.c).
        guard crm_wal_batch_register() else {
            throw StoreError(.unavailable, "cannot set up SQLite's file access (the crm-wal-batch VFS) for \(path)")
        }
        var configuration = Configuration()
        // Another sidecar or a backup may hold the write lock for a moment; wait rather than fail.
        configuration.busyMode = .timeout(5)
        configuration.label = "crm-sidecar"
        do {
            pool = try Self.openRetry.run(retryingWhen: Self.isBusy) {
                try DatabasePool(path: path, configuration: configuration)
            }
        } catch where Self.isBusy(error) {
            throw StoreError(
                .unavailable, "cannot open SQLite database at \(path): still locked by another connection after \(Self.openRetry.patience)"
            )
        } catch {
            throw StoreError(.unavailable, "cannot open SQLite database at \(path): \(Self.describe(error))")
        }
        // GRDB sets `synchronous = NORMAL` when it turns WAL on (after `prepareDatabase`), and in WAL
        // mode NORMAL commits without an fsync: an answered request could be lost with the power.
        // FULL on the writer, the only connection that commits, makes each commit wait for the disk.
        // The writer checkpoints only as a backstop: `WALCheckpointer` does it beside the writer.
        do {
            try pool.writeWithoutTransaction {
                try $0.execute(sql: "PRAGMA synchronous = FULL")
                try $0.execute(sql: "PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerBackstopPages)")
                try $0.execute(sql: "PRAGMA journal_size_limit = \(WALCheckpointer.walSizeLimit)")
            }
        } catch {
            throw StoreError(.unavailable, "cannot set up SQLite's writer (synchronous mode, checkpoints) at \(path): \(Self.describe(error))")
        }
        try SQLiteMigrations.apply(to: pool, cipher: cipher, logger: logger)
        let checkpointer: WALCheckpointer
        do {
            checkpointer = try WALCheckpointer(path: path, logger: logger)
        } catch {
            throw StoreError(.unavailable, "cannot open SQLite database at \(path) for checkpoints: \(Self.describe(error))")
        }
        writes = GroupCommit(pool: pool) { checkpointer.committed() }
    }

    /// Switching a new file to WAL needs a lock the busy timeout does not wait for; another sidecar
    /// (or a backup) opening the same file at the same moment holds it for milliseconds. So opening
    /// is tried again every 100 ms, for 5 s at most, while SQLite answers SQLITE_BUSY; then the store
    /// is `.unavailable` ("still locked by another connection").
    private static let openRetry = BlockingRetry(attempts: 51, pause: .milliseconds(100))

    /// The writer connection's `PRAGMA synchronous` (2 is FULL), for the test that holds it there.
    func writerSynchronousMode() async throws -> Int {
        try await pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The writer connection's `PRAGMA wal_autocheckpoint`, for the test that holds it at the backstop.
    func writerAutoCheckpointPages() async throws -> Int {
        try await pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") ?? -1 }
    }

    private static func isBusy(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_BUSY
    }

    package func insert(
        _ communication: Communication, attachments: [Attachment], leasedTo lease: Lease?, fingerprint: Data?
    ) async throws(StoreError) -> Idempotency.Insertion {
        let (cipher, encoder, auditEverything, clientKeys) = (self.cipher, self.encoder, self.auditEverything, self.clientKeys)
        let clientID = communication.clientID.key
        // Encoded and sealed here, beside the writer, when the client's key is at hand: the writer is
        // the one thing every write waits for. (The status event holds nothing personal: no key.)
        // Not with attachments: their sealed copies would wait in memory beside the plaintext, and
        // be sealed again when the key turned out stale; they are rare and sealed on the writer.
        let accepted = StatusChange(accepted: communication)
        let logged = try? EventColumns(.status(accepted), sealedBy: nil, at: communication.createdAt, encoder: encoder)
        let sealed = attachments.isEmpty ? clientKeys.entry(for: clientID).flatMap { cached in
            try? AcceptedRows(communication, attachments: [], key: cached.key, wrapped: cached.wrapped, encoder: encoder)
        } : nil
        return try await write { db -> Idempotency.Insertion in
            // One writer at a time: no other insert can take the key between this check and the insert.
            if let key = communication.idempotencyKey,
                let used = try Row.fetchOne(db, sql: "SELECT communication_id, request_hash FROM idempotency_keys WHERE key = ?", arguments: [key])
            {
                return Idempotency.repeat(of: used["communication_id"], stored: used["request_hash"], fingerprint: fingerprint)
            }
            let stored = try Self.clientKey(creatingFor: clientID, cipher: cipher, cache: clientKeys, in: db)
            // Sealed under the key the client still has, or sealed now under the one it has.
            let rows = if let sealed, sealed.wrapped == stored.wrapped {
                sealed
            } else {
                try AcceptedRows(communication, attachments: attachments, key: stored.key, wrapped: stored.wrapped, encoder: encoder)
            }
            let row = rows.communication
            try Self.execute(
                cached: """
                    INSERT INTO communications
                      (id, plan_id, client_id, message_type, urgency, status, channel_used, priority,
                       decision, recipient, context, preferred_channel, idempotency_key, created_at, updated_at,
                       attachment_count, next_attempt_at, lease_owner, lease_expires_at, queued_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                row.arguments + [row.dueAt, lease?.owner, lease?.expiresAt.millisecondsSince1970, row.queuedAt], in: db
            )
            for event in communication.events {
                try Self.insert(StatusEventColumns(event), for: row.id, in: db)
            }
            for attachment in rows.attachments {
                try db.execute(
                    sql: "INSERT INTO attachments (communication_id, position, filename, content_type, data) VALUES (?, ?, ?, ?, ?)",
                    arguments: [row.id, attachment.position, attachment.filename, attachment.contentType, attachment.data]
                )
            }
            for contact in rows.contacts {
                try Self.upsert(contact, in: db)
            }
            if let idempotencyKey = communication.idempotencyKey {
                try db.execute(
                    sql: "INSERT INTO idempotency_keys (key, request_hash, communication_id, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [idempotencyKey, fingerprint ?? Data(), row.id, row.createdAt]
                )
            }
            try Self.audit(ComplianceSQL.accepted(communication), everything: auditEverything, in: db)
            var change = accepted
            change.seq = if let logged {
                try Self.log(logged, in: db)
            } else {
                try Self.log(.status(accepted), at: communication.createdAt, cipher: cipher, encoder: encoder, in: db)
            }
            return .inserted(change)
        }
    }

    package func communication(id: UUID) async throws(StoreError) -> Communication? {
        let (cipher, decoder) = (self.cipher, self.decoder)
        return try await read { db in try Self.communication(id.key, cipher: cipher, decoder: decoder, in: db) }
    }

    package func attachments(of id: UUID) async throws(StoreError) -> [Attachment] {
        let cipher = self.cipher
        let key = id.key
        return try await read { db -> [Attachment] in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM attachments WHERE communication_id = ? ORDER BY position", arguments: [key]
            )
            guard !rows.isEmpty, let clientID = try String.fetchOne(db, sql: "SELECT client_id FROM communications WHERE id = ?", arguments: [key])
            else { return [] }
            let clientKey = try Self.clientKey(clientID, cipher: cipher, in: db)
            return try rows.compactMap { row in
                try AttachmentColumns(
                    position: row["position"], filename: row["filename"], contentType: row["content_type"], data: row["data"]
                ).attachment(communicationID: key, key: clientKey)
            }
        }
    }

    package func claimDue(by now: Date, for lease: Lease, limit: Int) async throws(StoreError) -> [Communication] {
        let nowMilliseconds = now.millisecondsSince1970
        return try await claim(
            sql: """
                UPDATE communications SET lease_owner = ?, lease_expires_at = ?
                WHERE id IN (
                  SELECT id FROM communications
                  WHERE next_attempt_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at < ?)
                  ORDER BY priority DESC, next_attempt_at LIMIT ?)
                RETURNING id
                """,
            arguments: [lease.owner, lease.expiresAt.millisecondsSince1970, nowMilliseconds, nowMilliseconds, limit]
        )
    }

    package func claimLowUrgency(
        of clientID: UUID, besides id: UUID, dueBy: Date, for lease: Lease, limit: Int
    ) async throws(StoreError) -> [Communication] {
        try await claim(
            sql: """
                UPDATE communications SET lease_owner = ?, lease_expires_at = ?
                WHERE id IN (
                  SELECT id FROM communications
                  WHERE client_id = ? AND urgency = 'low' AND id <> ? AND status IN ('queued', 'scheduled')
                    AND next_attempt_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at < ?)
                  ORDER BY next_attempt_at LIMIT ?)
                RETURNING id
                """,
            arguments: [
                lease.owner, lease.expiresAt.millisecondsSince1970, clientID.key, id.key, dueBy.millisecondsSince1970,
                Date().millisecondsSince1970, limit,
            ]
        )
    }

    /// Runs a claiming `UPDATE ... RETURNING id` and reads back what it claimed. SQLite has one
    /// writer at a time, so select-and-update in one write transaction is a claim no other connection
    /// (or process) can interleave with.
    private func claim(sql: String, arguments: StatementArguments) async throws(StoreError) -> [Communication] {
        let (cipher, decoder) = (self.cipher, self.decoder)
        return try await write { db in
            try String.fetchAll(db, sql: sql, arguments: arguments)
                .compactMap { try Self.communication($0, cipher: cipher, decoder: decoder, in: db) }
        }
    }

    package func renew(_ id: UUID, lease: Lease) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE communications SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? AND next_attempt_at IS NOT NULL",
                arguments: [lease.expiresAt.millisecondsSince1970, id.key, lease.owner]
            )
            return db.changesCount == 1
        }
    }

    package func release(_ id: UUID, owner: String, dueAt: Date?) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE communications SET lease_owner = NULL, lease_expires_at = NULL,
                      next_attempt_at = CASE WHEN next_attempt_at IS NULL THEN NULL ELSE coalesce(?, next_attempt_at) END
                    WHERE id = ? AND lease_owner = ?
                    """,
                arguments: [dueAt?.millisecondsSince1970, id.key, owner]
            )
        }
    }

    package func watchForReceipt(_ id: UUID, until deadline: Date?) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE communications SET next_attempt_at = ?, lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ? AND (status = 'sent' OR ? IS NULL)
                    """,
                arguments: [deadline?.millisecondsSince1970, id.key, deadline?.millisecondsSince1970]
            )
        }
    }

    package func clients(withAddress address: String) async throws(StoreError) -> [UUID] {
        // Two during a key rotation: rows not yet re-indexed are under the previous key's index.
        let indexes = cipher.blindIndexes(address)
        return try await read { db in
            try String.fetchAll(
                db, sql: "SELECT DISTINCT client_id FROM client_contacts WHERE address_index IN (?, ?) ORDER BY client_id",
                arguments: [indexes[0], indexes[indexes.count - 1]]
            ).compactMap(UUID.init(hexString:))
        }
    }

    package func communicationID(providerMessageID: String) async throws(StoreError) -> UUID? {
        try await read { db in
            try String.fetchOne(
                db, sql: "SELECT communication_id FROM attempts WHERE provider_message_id = ? LIMIT 1", arguments: [providerMessageID]
            ).flatMap(UUID.init(hexString:))
        }
    }

    package func noteInbound(from clientID: UUID, on channel: Channel, at: Date) async throws(StoreError) {
        let key = clientID.key
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO conversations (client_id, channel, last_inbound_at) VALUES (?, ?, ?)
                    ON CONFLICT (client_id, channel) DO UPDATE SET last_inbound_at = max(last_inbound_at, excluded.last_inbound_at)
                    """,
                arguments: [key, channel.rawValue, at.millisecondsSince1970]
            )
        }
    }

    package func lastInbound(from clientID: UUID, on channel: Channel) async throws(StoreError) -> Date? {
        let key = clientID.key
        return try await read { db in
            try Int64.fetchOne(
                db, sql: "SELECT last_inbound_at FROM conversations WHERE client_id = ? AND channel = ?", arguments: [key, channel.rawValue]
            ).map(Date.init(millisecondsSince1970:))
        }
    }

    package func receive(_ reply: InboundReply, providerMessageID: String) async throws(StoreError) -> InboundReply? {
        let (cipher, encoder) = (self.cipher, self.encoder)
        return try await write { db -> InboundReply? in
            try db.execute(
                sql: """
                    INSERT INTO inbound_messages (channel, provider_message_id, client_id, communication_id, intent, received_at)
                    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, provider_message_id) DO NOTHING
                    """,
                arguments: [
                    reply.channel.rawValue, providerMessageID, reply.clientID?.key, reply.communicationID?.key, reply.intent,
                    reply.at.millisecondsSince1970,
                ]
            )
            guard db.changesCount == 1 else { return nil }
            var logged = reply
            logged.seq = try Self.log(.inbound(reply), at: reply.at, cipher: cipher, encoder: encoder, in: db)
            try db.execute(
                sql: "UPDATE inbound_messages SET seq = ? WHERE channel = ? AND provider_message_id = ?",
                arguments: [logged.seq, reply.channel.rawValue, providerMessageID]
            )
            return logged
        }
    }

    package func events(matching query: EventQuery) async throws(StoreError) -> [LoggedEvent] {
        var sql = "SELECT seq, method, key_id, params, personal, personal_id FROM events WHERE seq > ?"
        var arguments: StatementArguments = [query.after]
        if let kinds = query.kinds {
            sql += " AND method IN (\(kinds.map { _ in "?" }.joined(separator: ", ")))"
            arguments += StatementArguments(kinds.sorted())
        }
        if let communicationID = query.communicationID {
            sql += " AND communication_id = ?"
            arguments += [communicationID.key]
        }
        if let clientID = query.clientID {
            sql += " AND client_id = ?"
            arguments += [clientID.key]
        }
        sql += " ORDER BY seq LIMIT ?"
        arguments += [query.limit]
        let (cipher, decoder) = (self.cipher, self.decoder)
        return try await read { [sql, arguments] db in
            var keys: [String: ClientKey?] = [:]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                var key: ClientKey?
                if let keyID: String = row["key_id"] {
                    if keys[keyID] == nil { keys[keyID] = try Self.clientKey(keyID, cipher: cipher, in: db) }
                    key = keys[keyID] ?? nil
                }
                return try EventColumns.logged(
                    seq: row["seq"], method: row["method"], params: row["params"], personal: row["personal"],
                    personalID: row["personal_id"], key: key, decoder: decoder
                )
            }
        }
    }

    /// One process per SQLite file announces everything itself.
    package func forward(seq: Int64, about communicationID: UUID?) async throws(StoreError) -> Bool { false }

    package func forwardedEvents() -> AsyncStream<Int64> { AsyncStream { $0.finish() } }

    /// None: SQLite has no channel between processes; readers keep their copies briefly instead.
    package func preferencesNotices() -> AsyncStream<PreferencesNotice> { AsyncStream { $0.finish() } }

    package func shred(clientID: UUID) async throws(StoreError) {
        try await write { [clientKeys] db in
            try Self.shred(clientID.key, at: Date().millisecondsSince1970, keys: clientKeys, in: db)
            try db.execute(
                sql: "INSERT INTO audit_log (at, actor, action, client_id, detail) VALUES (?, 'system', 'client.erased', ?, 'key shredded')",
                arguments: [Date().millisecondsSince1970, clientID.key]
            )
        }
    }

    /// Destroys the client's key and what identifies it without the key, and marks its
    /// communications erased (a later key, made for a later communication, must not be tried on
    /// them); their number.
    @discardableResult
    private static func shred(_ client: String, at: Int64, keys: ClientKeyCache, in db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM client_keys WHERE client_id = ?", arguments: [client])
        // Not kept in this process's memory either (the writes after check the stored key, so this
        // is not for them). An erasure by another process on the same file is not heard of here:
        // its entry stays until pushed out, and is never used, as the stored key no longer matches.
        keys.forget(client)
        // The blind indexes are keyed by the master key, not the client's: they go too.
        try db.execute(sql: "DELETE FROM client_contacts WHERE client_id = ?", arguments: [client])
        let ofClient = "SELECT id FROM communications WHERE client_id = ?"
        try db.execute(sql: "DELETE FROM idempotency_keys WHERE communication_id IN (\(ofClient))", arguments: [client])
        try db.execute(sql: "DELETE FROM attachments WHERE communication_id IN (\(ofClient))", arguments: [client])
        try db.execute(sql: "DELETE FROM conversations WHERE client_id = ?", arguments: [client])
        try db.execute(sql: "UPDATE events SET personal = NULL, personal_id = NULL WHERE key_id = ?", arguments: [client])
        try db.execute(
            // Out of the work queue too: nothing is left to send or to watch for.
            sql: """
                UPDATE communications SET erased_at = ?, idempotency_key = NULL, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL
                WHERE client_id = ? AND erased_at IS NULL
                """,
            arguments: [at, client]
        )
        return db.changesCount
    }

    // MARK: - Key rotation

    package func rotateKeys(batch: Int) async throws(StoreError) -> KeyRotation {
        guard cipher.isRotating else { throw StoreError(.wrongKey, "no previous key to rotate from: set DB_ENCRYPTION_KEY_PREVIOUS") }
        let cipher = self.cipher
        var rotation = KeyRotation()
        var after = ""
        while true {
            let (last, count) = try await write { [after] db -> (String?, Int) in
                let rows = try Row.fetchAll(
                    db, sql: "SELECT client_id, wrapped_key FROM client_keys WHERE client_id > ? ORDER BY client_id LIMIT ?", arguments: [after, batch]
                )
                var count = 0
                for row in rows {
                    let client: String = row["client_id"]
                    guard let rewrapped = try cipher.rewrap(row["wrapped_key"], for: client) else { continue }
                    try db.execute(sql: "UPDATE client_keys SET wrapped_key = ? WHERE client_id = ?", arguments: [rewrapped, client])
                    count += 1
                }
                return (rows.last?["client_id"], count)
            }
            rotation.clientKeys += count
            guard let last else { break }
            after = last
        }
        after = ""
        while true {
            let (last, count) = try await write { [after] db -> (String?, Int) in
                let clients = try String.fetchAll(
                    db, sql: "SELECT DISTINCT client_id FROM client_contacts WHERE client_id > ? ORDER BY client_id LIMIT ?", arguments: [after, batch]
                )
                var count = 0
                for client in clients {
                    let key = try Self.clientKey(client, cipher: cipher, in: db)
                    for row in try Row.fetchAll(db, sql: "SELECT * FROM client_contacts WHERE client_id = ?", arguments: [client]) {
                        guard let contact = try ContactColumns.reindexed(row: ContactColumns(
                            clientID: client, channel: row["channel"], addressIndex: row["address_index"], address: row["address"],
                            updatedAt: row["updated_at"]
                        ), key: key) else { continue }
                        // A sidecar may have written the new index meanwhile: keep its row.
                        try db.execute(
                            sql: """
                                INSERT INTO client_contacts (client_id, channel, address_index, address, updated_at) VALUES (?, ?, ?, ?, ?)
                                ON CONFLICT (client_id, channel, address_index) DO NOTHING
                                """,
                            arguments: [contact.clientID, contact.channel, contact.addressIndex, contact.address, contact.updatedAt]
                        )
                        try db.execute(
                            sql: "DELETE FROM client_contacts WHERE client_id = ? AND channel = ? AND address_index = ?",
                            arguments: [client, contact.channel, row["address_index"] as Data]
                        )
                        count += 1
                    }
                }
                return (clients.last, count)
            }
            rotation.contacts += count
            guard let last else { break }
            after = last
        }
        try await write { db in
            try db.execute(sql: "UPDATE encryption SET key_check = ?, rotating_to = NULL WHERE id = 1", arguments: [cipher.keyCheck])
        }
        return rotation
    }

    // MARK: - Compliance

    package func audit(_ entry: AuditEntry) async throws(StoreError) -> Int64? {
        let everything = auditEverything
        return try await write { db in try Self.audit(entry, everything: everything, in: db) }
    }

    @discardableResult
    private static func audit(_ entry: AuditEntry, everything: Bool, in db: Database) throws -> Int64? {
        guard everything || entry.isRequired else { return nil }
        try execute(
            cached: "INSERT INTO audit_log (at, actor, action, client_id, communication_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
            [entry.at.millisecondsSince1970, entry.actor.rawValue, entry.action, entry.clientID?.key, entry.communicationID?.key, entry.detail],
            in: db
        )
        return db.lastInsertedRowID
    }

    package func analytics(_ query: AnalyticsQuery) async throws(StoreError) -> AnalyticsFigures {
        let statements = AnalyticsSQL.statements(for: query, dialect: .sqlite)
        // The deltas the triggers appended since the last report, folded first so that the report
        // reads few of them; it reads both, so a delta committed meanwhile still counts.
        if query.foldsDeltas { await compactAnalytics() }
        return try await read { db in
            try AnalyticsSQL.figures(running: statements) { statement in
                try Row.fetchAll(db, sql: statement.sql).map { row in
                    statement.kinds.indices.map { index -> AnalyticsSQL.Cell in
                        statement.kinds[index] == .text ? .text(row[index]) : .integer(row[index])
                    }
                }
            }
        }
    }

    /// Folds the analytics deltas into their groups (`AnalyticsQuarters`): before each report, and
    /// with each retention pass so that they do not pile up between reports. Best effort: a report
    /// reads the deltas left too, and a purge that committed must not be reported failed.
    private func compactAnalytics() async {
        do {
            try await write { db in
                for statement in AnalyticsQuarters.compaction(sqlite: true) { try db.execute(sql: statement) }
            }
        } catch {
            logger.warning("folding the analytics deltas failed; they are read as they are", metadata: ["error": "\(error)"])
        }
    }

    package func records(_ query: AnalyticsQuery, to write: @escaping @Sendable (CommunicationRecord) -> Bool) async throws(StoreError) -> Int {
        let (sql, kinds) = (AnalyticsSQL.records(for: query), AnalyticsSQL.recordKinds)
        return try await read { db in
            var count = 0
            let rows = try Row.fetchCursor(db, sql: sql)
            while let row = try rows.next() {
                let cells = kinds.indices.map { index -> AnalyticsSQL.Cell in
                    kinds[index] == .text ? .text(row[index]) : .integer(row[index])
                }
                count += 1
                guard write(AnalyticsSQL.record(cells)) else { break }
            }
            return count
        }
    }

    package func auditEntries(matching query: AuditQuery) async throws(StoreError) -> [AuditEntry] {
        var sql = "SELECT seq, at, actor, action, client_id, communication_id, detail FROM audit_log WHERE seq > ?"
        var arguments: StatementArguments = [query.after ?? 0]
        if let clientID = query.clientID {
            sql += " AND client_id = ?"
            arguments += [clientID.key]
        }
        if let action = query.action {
            sql += " AND action = ?"
            arguments += [action]
        }
        if let since = query.since {
            sql += " AND at >= ?"
            arguments += [since.millisecondsSince1970]
        }
        if let until = query.until {
            sql += " AND at < ?"
            arguments += [until.millisecondsSince1970]
        }
        sql += " ORDER BY seq LIMIT ?"
        arguments += [query.limit]
        return try await read { [sql, arguments] db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                try AuditColumns(row: row).entry()
            }
        }
    }

    package func export(clientID: UUID, at: Date) async throws(StoreError) -> ClientExport {
        let (client, cipher, decoder) = (clientID.key, self.cipher, self.decoder)
        return try await read { db in
            let key = try Self.clientKey(client, cipher: cipher, in: db)
            let preferences = try Row.fetchOne(db, sql: "SELECT * FROM client_preferences WHERE client_id = ?", arguments: [client])
                .map { try PreferencesColumns(row: $0).preferences(decoder: decoder) }
            let consent = try Row.fetchAll(
                db, sql: "SELECT * FROM audit_log WHERE client_id = ? AND action = ? ORDER BY seq", arguments: [client, AuditEntry.preferencesSaved]
            ).map { row in
                try AuditColumns(row: row).entry()
            }
            let contacts = try Row.fetchAll(
                db, sql: "SELECT channel, address, updated_at FROM client_contacts WHERE client_id = ? ORDER BY channel, updated_at", arguments: [client]
            ).compactMap { row in
                try ContactColumns.contact(clientID: client, channel: row["channel"], address: row["address"], updatedAt: row["updated_at"], key: key)
            }
            let ids = try String.fetchAll(db, sql: "SELECT id FROM communications WHERE client_id = ? ORDER BY created_at, id", arguments: [client])
            let communications = try ids.compactMap { try Self.communication($0, cipher: cipher, decoder: decoder, in: db) }
            let inbound = try Row.fetchAll(
                db, sql: "SELECT seq, method, params, personal, personal_id FROM events WHERE client_id = ? AND method = ? ORDER BY seq",
                arguments: [client, EngineEvent.inboundMethod]
            ).map { row in
                try EventColumns.logged(
                    seq: row["seq"], method: row["method"], params: row["params"], personal: row["personal"], personalID: row["personal_id"],
                    key: key, decoder: decoder
                )
            }
            let conversations = try Row.fetchAll(
                db, sql: "SELECT channel, last_inbound_at FROM conversations WHERE client_id = ? ORDER BY channel", arguments: [client]
            ).compactMap { row -> ClientExport.Conversation? in
                guard let channel = Channel(rawValue: row["channel"]) else { return nil }
                return ClientExport.Conversation(channel: channel, lastInboundAt: Date(millisecondsSince1970: row["last_inbound_at"]))
            }
            let attachments = try Row.fetchAll(
                db, sql: """
                    SELECT a.communication_id, a.position, a.filename, a.content_type, length(a.data) AS size FROM attachments a
                    JOIN communications c ON c.id = a.communication_id WHERE c.client_id = ? ORDER BY c.created_at, a.position
                    """, arguments: [client]
            ).compactMap { row in
                try AttachmentColumns.metadata(
                    communicationID: row["communication_id"], position: row["position"], filename: row["filename"],
                    contentType: row["content_type"], sealedBytes: row["size"], key: key
                )
            }
            let erasedAt = try Int64.fetchOne(db, sql: "SELECT erased_at FROM client_erasures WHERE client_id = ?", arguments: [client])
            return ClientExport(
                clientID: clientID, exportedAt: at, preferences: preferences, consentHistory: consent, contacts: contacts,
                communications: communications, inboundMessages: inbound, conversations: conversations, attachments: attachments,
                erasedAt: erasedAt.map(Date.init(millisecondsSince1970:))
            )
        }
    }

    package func forget(clientID: UUID, reason: String?, actor: AuditEntry.Actor, at: Date) async throws(StoreError) -> Forgetting {
        let (client, cipher, encoder, clientKeys) = (clientID.key, self.cipher, self.encoder, self.clientKeys)
        return try await write { db -> Forgetting in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM communications WHERE client_id = ? ORDER BY created_at, id", arguments: [client])
                .compactMap(UUID.init(hexString:))
            let previous = try Int64.fetchOne(db, sql: "SELECT erased_at FROM client_erasures WHERE client_id = ?", arguments: [client])
            let unerased = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM communications WHERE client_id = ? AND erased_at IS NULL", arguments: [client]
            ) ?? 0
            let hasKey = try Int.fetchOne(db, sql: "SELECT count(*) FROM client_keys WHERE client_id = ?", arguments: [client]) ?? 0 > 0
            if let previous, unerased == 0, !hasKey {
                return Forgetting(
                    erasure: Erasure(clientID: clientID, erasedAt: Date(millisecondsSince1970: previous), erasedCommunications: 0, cancelledCommunications: 0),
                    cancelled: [], communicationIDs: ids
                )
            }
            let millis = at.millisecondsSince1970
            // Cancelled first, while they are readable; the moves and their events hold nothing personal.
            var cancelled: [StatusChange] = []
            for id in try String.fetchAll(
                db, sql: "SELECT id FROM communications WHERE client_id = ? AND status IN \(ComplianceSQL.unsentStatuses) ORDER BY created_at, id",
                arguments: [client]
            ) {
                if let change = try Self.move(
                    id, to: .cancelled, channel: nil, attempt: nil, detail: ComplianceSQL.erasedReason, providerMessageID: nil, at: at,
                    cipher: cipher, encoder: encoder, in: db
                ) {
                    cancelled.append(change)
                }
            }
            let erased = try Self.shred(client, at: millis, keys: clientKeys, in: db)
            try db.execute(
                sql: """
                    INSERT INTO client_erasures (client_id, erased_at, reason) VALUES (?, ?, ?)
                    ON CONFLICT (client_id) DO UPDATE SET erased_at = excluded.erased_at, reason = excluded.reason
                    """,
                arguments: [client, millis, reason]
            )
            try Self.audit(
                AuditEntry(
                    at: at, actor: actor, action: AuditEntry.clientErased, clientID: clientID,
                    detail: ComplianceSQL.erasedDetail(erased: erased, cancelled: cancelled.count)
                ),
                everything: true, in: db
            )
            return Forgetting(
                erasure: Erasure(clientID: clientID, erasedAt: Date(millisecondsSince1970: millis), erasedCommunications: erased, cancelledCommunications: cancelled.count),
                cancelled: cancelled, communicationIDs: ids
            )
        }
    }

    package func purge(before: Date, auditBefore: Date, limit: Int, dryRun: Bool) async throws(StoreError) -> PurgeCounts {
        let (cutoff, auditCutoff) = (before.millisecondsSince1970, auditBefore.millisecondsSince1970)
        let body: @Sendable (Database) throws -> PurgeCounts = { db in
            var counts = PurgeCounts()
            let old = """
                SELECT id FROM communications WHERE updated_at < ? AND status NOT IN \(ComplianceSQL.unsentStatuses)
                ORDER BY updated_at LIMIT ?
                """
            let ids = try String.fetchAll(db, sql: old, arguments: [cutoff, limit])
            if !ids.isEmpty {
                let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
                let arguments = StatementArguments(ids)
                func count(_ table: String) throws -> Int {
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE communication_id IN (\(marks))", arguments: arguments) ?? 0
                }
                counts.communications = ids.count
                counts.attempts = try count("attempts")
                counts.statusEvents = try count("status_events")
                counts.attachments = try count("attachments")
                if !dryRun {
                    // Attempts, timelines, attachments and idempotency keys go with them (ON DELETE CASCADE).
                    try db.execute(sql: "DELETE FROM communications WHERE id IN (\(marks))", arguments: arguments)
                }
            }
            func purge(_ table: String, key: String, time: String, before cutoff: Int64) throws -> Int {
                let chosen = "SELECT \(key) FROM \(table) WHERE \(time) < ? ORDER BY \(time) LIMIT ?"
                if dryRun {
                    return try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(chosen))", arguments: [cutoff, limit]) ?? 0
                }
                try db.execute(sql: "DELETE FROM \(table) WHERE \(key) IN (\(chosen))", arguments: [cutoff, limit])
                return db.changesCount
            }
            // The log loses only its oldest run, never an event between two it keeps: a reader
            // never meets a gap in the middle of what it can still list.
            let kept = "SELECT coalesce(min(seq), (SELECT coalesce(max(seq), 0) + 1 FROM events)) FROM events WHERE at >= ?"
            let oldest = "SELECT seq FROM events WHERE seq < (\(kept)) ORDER BY seq LIMIT ?"
            if dryRun {
                counts.events = try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(oldest))", arguments: [cutoff, limit]) ?? 0
            } else {
                try db.execute(sql: "DELETE FROM events WHERE seq IN (\(oldest))", arguments: [cutoff, limit])
                counts.events = db.changesCount
            }
            counts.inboundMessages = try purge("inbound_messages", key: "rowid", time: "received_at", before: cutoff)
            counts.auditLog = try purge("audit_log", key: "seq", time: "at", before: auditCutoff)
            return counts
        }
        if dryRun { return try await read(body) }
        let counts = try await write(body)
        await compactAnalytics()
        return counts
    }

    package func communications(matching query: CommunicationQuery) async throws(StoreError) -> CommunicationPage {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let planID = query.planID {
            conditions.append("plan_id = ?")
            arguments += [planID.key]
        }
        if let clientID = query.clientID {
            conditions.append("client_id = ?")
            arguments += [clientID.key]
        }
        if let status = query.status {
            conditions.append("status = ?")
            arguments += [status.rawValue]
        }
        if let after = query.after {
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            arguments += [after.createdAtMilliseconds, after.createdAtMilliseconds, after.id]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        // One row more than asked tells whether there is a next page.
        arguments += [query.limit + 1]
        let sql = """
            SELECT id, plan_id, client_id, message_type, urgency, status, channel_used, created_at, updated_at
            FROM communications \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ?
            """
        let limit = query.limit
        return try await read { [arguments] db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let items = try rows.prefix(limit).map { row in
                try CommunicationColumns.summary(
                    id: row["id"], planID: row["plan_id"], clientID: row["client_id"], messageType: row["message_type"],
                    urgency: row["urgency"], status: row["status"], channelUsed: row["channel_used"],
                    createdAt: row["created_at"], updatedAt: row["updated_at"]
                )
            }
            let next = rows.count > limit
                ? rows.prefix(limit).last.map { PageCursor(createdAtMilliseconds: $0["created_at"], id: $0["id"]) }
                : nil
            return CommunicationPage(items: items, next: next)
        }
    }

    package func record(
        _ attempt: Attempt,
        for id: UUID,
        movingTo status: CommunicationStatus?
    ) async throws(StoreError) -> StatusChange? {
        let (key, cipher, encoder) = (id.key, self.cipher, self.encoder)
        let columns = AttemptColumns(attempt)
        return try await write { db -> StatusChange? in
            try Self.execute(
                cached: """
                    INSERT INTO attempts
                      (communication_id, number, channel, provider, started_at, latency_ms, outcome,
                       provider_message_id, error_category, error, missing_variables)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                columns.arguments(communicationID: key), in: db
            )
            if attempt.outcome != .skipped {
                try Self.execute(
                    cached: AnalyticsRollups.attemptUpdate { "?\($0)" },
                    [attempt.channel.rawValue, attempt.number, attempt.provider, attempt.errorCategory?.rawValue, key], in: db
                )
            }
            guard let status else { return nil }
            return try Self.move(
                key, to: status, channel: attempt.channel, attempt: attempt, detail: attempt.error, providerMessageID: nil,
                at: attempt.startedAt.addingTimeInterval(Double(attempt.latencyMilliseconds) / 1000), cipher: cipher, encoder: encoder, in: db
            )
        }
    }

    package func move(
        _ id: UUID,
        to status: CommunicationStatus,
        channel: Channel?,
        detail: String?,
        providerMessageID: String?,
        at: Date
    ) async throws(StoreError) -> StatusChange? {
        let (key, cipher, encoder) = (id.key, self.cipher, self.encoder)
        return try await write { db in
            try Self.move(
                key, to: status, channel: channel, attempt: nil, detail: detail, providerMessageID: providerMessageID, at: at,
                cipher: cipher, encoder: encoder, in: db
            )
        }
    }

    package func preferences(for clientID: UUID) async throws(StoreError) -> ClientPreferences? {
        let key = clientID.key
        let decoder = self.decoder
        return try await read { db in
            // Cached: consent is read before every send.
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM client_preferences WHERE client_id = ?"), arguments: [key])
                .map { try PreferencesColumns(row: $0).preferences(decoder: decoder) }
        }
    }

    package func save(_ preferences: ClientPreferences, source: String, announcing: ConsentChange?) async throws(StoreError) -> ConsentChange? {
        let columns = try PreferencesColumns(preferences, encoder: encoder)
        let (arguments, cipher, encoder) = (columns.arguments, self.cipher, self.encoder)
        return try await write { db -> ConsentChange? in
            try db.execute(
                sql: """
                    INSERT INTO client_preferences
                      (client_id, preferred_channels, timezone, quiet_hours_start, quiet_hours_end,
                       opt_out_email, opt_out_sms, opt_out_whatsapp, language_preference, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (client_id) DO UPDATE SET
                      preferred_channels = excluded.preferred_channels, timezone = excluded.timezone,
                      quiet_hours_start = excluded.quiet_hours_start, quiet_hours_end = excluded.quiet_hours_end,
                      opt_out_email = excluded.opt_out_email, opt_out_sms = excluded.opt_out_sms,
                      opt_out_whatsapp = excluded.opt_out_whatsapp,
                      language_preference = excluded.language_preference, updated_at = excluded.updated_at
                    """,
                arguments: arguments
            )
            try db.execute(
                sql: "INSERT INTO audit_log (at, actor, action, client_id, detail) VALUES (?, ?, 'preferences.saved', ?, ?)",
                arguments: [columns.updatedAt, ComplianceSQL.actor(ofSource: source).rawValue, columns.clientID, columns.auditDetail(source: source)]
            )
            guard var change = announcing else { return nil }
            change.seq = try Self.log(.optedOut(change), at: change.at, cipher: cipher, encoder: encoder, in: db)
            return change
        }
    }

    package func queueSize() async throws(StoreError) -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM communications WHERE status IN ('pending', 'queued', 'scheduled')") ?? 0
        }
    }

    /// The one writer connection: readers are opened and closed by GRDB as reads come and go, and
    /// it does not say how many are open.
    package func connectionCount() async throws(StoreError) -> Int { 1 }

    package func ping() async throws(StoreError) {
        try await read { db in _ = try Int.fetchOne(db, sql: "SELECT 1") }
    }

    // MARK: - Shared steps

    /// The client's data key, or nil when it has none: it never had one, or it was shredded.
    static func clientKey(_ clientID: String, cipher: FieldCipher, in db: Database) throws -> ClientKey? {
        try ClientKey.unwrap(try wrappedKey(clientID, in: db), for: clientID, cipher: cipher)
    }

    private static func wrappedKey(_ clientID: String, in db: Database) throws -> Data? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT wrapped_key FROM client_keys WHERE client_id = ?"), arguments: [clientID])
    }

    /// The client's data key, made and stored first when the client has none (or it was shredded).
    /// Called inside a write: SQLite has one writer, so no shred can come between the look and the
    /// insert.
    static func clientKey(creatingFor clientID: String, cipher: FieldCipher, in db: Database) throws -> ClientKey {
        try clientKey(creatingFor: clientID, cipher: cipher, cache: nil, in: db).key
    }

    /// The same, with the wrapped form it is stored as; unwrapped once per wrapped form with `cache`.
    static func clientKey(
        creatingFor clientID: String, cipher: FieldCipher, cache: ClientKeyCache?, in db: Database
    ) throws -> (key: ClientKey, wrapped: Data) {
        if let wrapped = try wrappedKey(clientID, in: db) {
            if let cached = cache?.key(for: clientID, wrapped: wrapped) { return (cached, wrapped) }
            if let key = try ClientKey.unwrap(wrapped, for: clientID, cipher: cipher) {
                cache?.remember(key, wrapped: wrapped, for: clientID)
                return (key, wrapped)
            }
        }
        let new = try cipher.newDataKey(for: clientID)
        try db.execute(
            sql: "INSERT INTO client_keys (client_id, wrapped_key, created_at) VALUES (?, ?, ?)",
            arguments: [clientID, new.wrapped, Date().millisecondsSince1970]
        )
        let key = ClientKey(cipher: cipher, key: new.key)
        cache?.remember(key, wrapped: new.wrapped, for: clientID)
        return (key, new.wrapped)
    }

    static func upsert(_ contact: ContactColumns, in db: Database) throws {
        try execute(
            cached: """
                INSERT INTO client_contacts (client_id, channel, address_index, address, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (client_id, channel, address_index) DO UPDATE SET updated_at = excluded.updated_at
                WHERE client_contacts.updated_at < ?
                """,
            [contact.clientID, contact.channel, contact.addressIndex, contact.address, contact.updatedAt, contact.updatedAt - ContactColumns.refreshMilliseconds],
            in: db
        )
    }

    private static func communication(_ key: String, cipher: FieldCipher, decoder: JSONDecoder, in db: Database) throws -> Communication? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM communications WHERE id = ?", arguments: [key]) else {
            return nil
        }
        let columns = CommunicationColumns(row: row)
        let clientKey = try clientKey(columns.clientID, cipher: cipher, in: db)
        var communication = try columns.communication(decoder: decoder, key: clientKey)
        communication.attempts = try Row.fetchAll(
            db, sql: "SELECT * FROM attempts WHERE communication_id = ? ORDER BY number", arguments: [key]
        ).map { try AttemptColumns(row: $0).attempt() }
        communication.events = try Row.fetchAll(
            db, sql: "SELECT * FROM status_events WHERE communication_id = ? ORDER BY at, seq", arguments: [key]
        ).map { try StatusEventColumns(row: $0).event() }
        return communication
    }

    private static func move(
        _ key: String,
        to status: CommunicationStatus,
        channel: Channel?,
        attempt: Attempt?,
        detail: String?,
        providerMessageID: String?,
        at: Date,
        cipher: FieldCipher,
        encoder: WireEncoder,
        in db: Database
    ) throws -> StatusChange? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT plan_id, client_id, message_type, status, channel_used FROM communications WHERE id = ?"), arguments: [key]
        ) else { return nil }
        guard let move = try StatusMove.plan(
            id: key, planID: row["plan_id"], clientID: row["client_id"], messageType: row["message_type"],
            current: row["status"], channelUsed: row["channel_used"],
            to: status, channel: channel, attempt: attempt, detail: detail, providerMessageID: providerMessageID, at: at
        ) else { return nil }
        // Once sent (or ended) there is nothing left for the send loop: the work and its lease go.
        try Self.execute(
            cached: """
                UPDATE communications SET status = ?1, channel_used = ?2, updated_at = ?3\(AnalyticsRollups.milestones(reaching: status, at: "?3")),
                  next_attempt_at = CASE WHEN ?4 THEN NULL ELSE next_attempt_at END,
                  lease_owner = CASE WHEN ?4 THEN NULL ELSE lease_owner END,
                  lease_expires_at = CASE WHEN ?4 THEN NULL ELSE lease_expires_at END
                WHERE id = ?5
                """,
            [status.rawValue, move.channelUsed, at.millisecondsSince1970, move.endsWork, key], in: db
        )
        try insert(StatusEventColumns(StatusEvent(status: status, at: at, channel: channel, detail: detail)), for: key, in: db)
        var change = move.change
        change.seq = try log(.status(change), at: at, cipher: cipher, encoder: encoder, in: db)
        return change
    }

    /// Appends `event` to the log inside the caller's write; its `seq`. (One writer at a time: the
    /// seq SQLite picks is the next in commit order.)
    private static func log(_ event: EngineEvent, at: Date, cipher: FieldCipher, encoder: WireEncoder, in db: Database) throws -> Int64 {
        var sealer: (id: String, key: ClientKey)?
        if let keyID = EventColumns.keyID(of: event, cipher: cipher) {
            sealer = (keyID, try clientKey(creatingFor: keyID, cipher: cipher, in: db))
        }
        return try log(try EventColumns(event, sealedBy: sealer, at: at, encoder: encoder), in: db)
    }

    private static func log(_ row: EventColumns, in db: Database) throws -> Int64 {
        try execute(
            cached: """
                INSERT INTO events (method, communication_id, client_id, key_id, params, personal, personal_id, at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            [row.method, row.communicationID, row.clientID, row.keyID, row.params, row.personal, row.personalID, row.at], in: db
        )
        return db.lastInsertedRowID
    }

    private static func insert(_ event: StatusEventColumns, for key: String, in db: Database) throws {
        try execute(
            cached: "INSERT INTO status_events (communication_id, status, channel, detail, at) VALUES (?, ?, ?, ?, ?)",
            [key, event.status, event.channel, event.detail, event.at], in: db
        )
    }

    /// Runs one of the send path's statements prepared once per connection. Preparing costs more
    /// than running for most of them, and for a write of `communications` it also compiles the
    /// analytics triggers it fires (`AnalyticsQuarters`): about a millisecond. Only for texts that
    /// never vary (the cache keeps every text it is given).
    private static func execute(cached sql: String, _ arguments: StatementArguments, in db: Database) throws {
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await writes.write(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    private static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        return StoreError(.unavailable, "SQLite: \(describe(error))")
    }

    /// GRDB's description names the SQL but never its arguments (those may be personal data) unless
    /// `publicStatementArguments` is set, which this store never does.
    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return "\(error.resultCode) \(error.message ?? "")"
        }
        return String(describing: error)
    }
}
