package import CRMModel
package import Foundation
package import Logging
import PostgresNIO
import ServiceLifecycle

/// The production backend: PostgreSQL through postgres-nio's pooled `PostgresClient`, shared by any
/// number of sidecars.
///
/// The client's connection pool runs as a `Service`; every operation has a deadline, so while the
/// server is unreachable a request is answered -32001 promptly instead of waiting for the pool to
/// give up, and the pool reconnects by itself when the server is back.
package final class PostgresStore: Store, Service {
    private let client: PostgresClient
    private let logger: Logger
    private let deadline: Duration
    private let cipher: FieldCipher
    /// ENABLE_AUDIT_LOGGING: false keeps only the entries the law needs (`AuditEntry.isRequired`).
    private let auditEverything: Bool
    private let encoder = WireJSON.makeEncoder()
    private let decoder = WireJSON.makeDecoder()
    /// This sidecar's name among those sharing the database: written on what it accepts, and the
    /// channel it listens on for events meant for it.
    private let instance: String
    private let forwarded: (stream: AsyncStream<Int64>, continuation: AsyncStream<Int64>.Continuation)
    private let notices: (stream: AsyncStream<PreferencesNotice>, continuation: AsyncStream<PreferencesNotice>.Continuation)
    /// Where the send path's writes (accepts, attempts, status moves) go, to share transactions.
    private let group: PostgresGroupCommit<PostgresBatchReads>

    /// `instance`: letters, digits and underscores (a PostgreSQL channel name), at most 40 characters.
    package init(
        configuration: PostgresConfiguration, cipher: FieldCipher, instance: String = PostgresStore.randomInstance(),
        auditEverything: Bool = true, logger: Logger, deadline: Duration = .seconds(5)
    ) {
        self.auditEverything = auditEverything
        var client = configuration.client
        // Names this sidecar's connections in pg_stat_activity: for operators, and for `connectionCount`.
        client.options.additionalStartupParameters.append(("application_name", Self.applicationName(of: instance)))
        self.client = PostgresClient(configuration: client, backgroundLogger: logger)
        self.cipher = cipher
        self.instance = instance
        self.logger = logger
        self.deadline = deadline
        self.forwarded = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        self.notices = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        self.group = PostgresGroupCommit(
            client: self.client, logger: logger, deadline: deadline,
            read: { keys, connection, logger in try await PostgresBatchReads.read(keys, cipher: cipher, on: connection, logger: logger) },
            commit: { writes, rows, connection, logger, abandoned in
                try await Self.commit(writes, rows, on: connection, logger: logger, abandoned: abandoned)
            }
        )
    }

    package static func randomInstance() -> String {
        UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    private var notificationChannel: String { Self.notificationChannel(of: instance) }

    private static func notificationChannel(of instance: String) -> String { "crm_sidecar_\(instance)" }

    /// Where every sidecar hears of preferences saved by any other: the payload is the client's id.
    private static let preferencesChannel = "crm_sidecar_preferences"

    /// Runs the connection pool, and listens for events other sidecars forward, until the service
    /// group shuts down.
    package func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.client.run() }
                group.addTask { await self.listen() }
            }
        }
        forwarded.continuation.finish()
        notices.continuation.finish()
    }

    /// One pooled connection stays subscribed to this sidecar's channel and to the preferences
    /// channel; when it drops (the server restarted, say), it subscribes again, and readers are told
    /// that notices may have been missed meanwhile.
    private func listen() async {
        let (channel, logger, forwarded, notices) = (notificationChannel, logger, forwarded.continuation, notices.continuation)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await withThrowingDiscardingTaskGroup { group in
                        group.addTask {
                            try await connection.listen(on: channel) { notifications in
                                for try await notification in notifications {
                                    guard let seq = Int64(notification.payload) else { continue }
                                    forwarded.yield(seq)
                                }
                            }
                        }
                        group.addTask {
                            try await connection.listen(on: Self.preferencesChannel) { notifications in
                                // Whatever was saved before this subscription, readers may hold copies of.
                                notices.yield(.mayHaveMissed)
                                for try await notification in notifications {
                                    guard let id = UUID(hexString: notification.payload) else { continue }
                                    notices.yield(.saved(clientID: id))
                                }
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("listening for notifications failed; trying again", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Brings the schema up to date; call once `run()` is under way.
    ///
    /// Not bounded by the per-operation deadline: a migration that builds an index over millions of
    /// rows takes minutes, and a start-up that gave up half-way would leave the work to the next.
    package func migrate() async throws(StoreError) {
        try await within(atMost: Self.migrationDeadline) {
            try await PostgresMigrations.apply(on: self.client, cipher: self.cipher, logger: self.logger)
        }
    }

    /// How long start-up waits for migrations (several sidecars starting at once wait in turn).
    private static let migrationDeadline: Duration = .seconds(900)

    package func insert(
        _ communication: Communication, attachments: [Attachment], leasedTo lease: Lease?, fingerprint: Data?
    ) async throws(StoreError) -> Idempotency.Insertion {
        let (cipher, encoder, auditEverything) = (self.cipher, self.encoder, self.auditEverything)
        // What another write in the same batch might also write: the client's key and contacts, the
        // idempotency key. Not the communication: its id is new, and nothing else can name it yet.
        var keys: [PostgresWriteKey] = [.client(communication.clientID.key)]
        if let idempotencyKey = communication.idempotencyKey { keys.append(.idempotency(idempotencyKey)) }
        // With attachments (up to megabytes, and five binds each), in a transaction of its own.
        return try await groupCommit(keys: keys, alone: !attachments.isEmpty) { connection, logger, reads, writes, events in
            if let idempotencyKey = communication.idempotencyKey {
                // The key first: a concurrent insert of the same key (in any sidecar) waits here for
                // the other transaction, then finds its row. The communication it names is written
                // below, in the same transaction.
                let (id, hash, now) = (communication.id.key, fingerprint ?? Data(), communication.createdAt.millisecondsSince1970)
                let claimed = try await connection.query("""
                    INSERT INTO idempotency_keys (key, request_hash, communication_id, created_at)
                    VALUES (\(idempotencyKey), \(hash), \(id), \(now)) ON CONFLICT (key) DO NOTHING RETURNING key
                    """, logger: logger).collect()
                if claimed.isEmpty {
                    guard let used = try await connection.query(
                        "SELECT communication_id, request_hash FROM idempotency_keys WHERE key = \(idempotencyKey)", logger: logger
                    ).collect().first else { return { _ in .conflict } }
                    let (usedID, usedHash) = try used.decode((String, Data).self)
                    let insertion = Idempotency.repeat(of: usedID, stored: usedHash, fingerprint: fingerprint)
                    return { _ in insertion }
                }
            }
            let client = communication.clientID.key
            let key = try await Self.clientKey(creatingFor: client, held: reads.wrappedKeys[client], cipher: cipher, on: connection, logger: logger)
            let row = try CommunicationColumns(communication, encoder: encoder, key: key)
            // Everything below joins the statement that ends the transaction, with the event log; the
            // rows of each table in one clause with those of the batch's other writes.
            try writes.gather(
                "accepted", head: Self.communicationsHead, tail: " RETURNING 1",
                values: row.id, row.planID, row.clientID, row.messageType, row.urgency, row.status, row.channelUsed, row.priority,
                row.decision, row.recipient, row.context, row.preferredChannel, row.idempotencyKey, row.createdAt,
                row.updatedAt, row.dueAt, lease?.owner, lease?.expiresAt.millisecondsSince1970, row.attachmentCount,
                self.instance, row.queuedAt
            )
            try Self.write(communication.events.map(StatusEventColumns.init), for: row.id, into: &writes)
            for file in try AttachmentColumns.rows(attachments, communicationID: row.id, key: key) {
                try writes.gather(
                    "attached", head: "INSERT INTO attachments (communication_id, position, filename, content_type, data) VALUES ",
                    tail: " RETURNING 1", values: row.id, file.position, file.filename, file.contentType, file.data
                )
            }
            for contact in try ContactColumns.rows(clientID: row.clientID, recipient: communication.recipient, key: key, at: row.createdAt) {
                try Self.write(contact, into: &writes)
            }
            try Self.write(ComplianceSQL.accepted(communication), everything: auditEverything, into: &writes)
            let change = StatusChange(accepted: communication)
            events.append(try await Self.seal(.status(change), at: communication.createdAt, cipher: cipher, encoder: encoder, on: connection, logger: logger))
            return { seqs in
                var logged = change
                logged.seq = seqs.first
                return .inserted(logged)
            }
        }
    }

    private static let communicationsHead = """
        INSERT INTO communications
          (id, plan_id, client_id, message_type, urgency, status, channel_used, priority, decision, recipient,
           context, preferred_channel, idempotency_key, created_at, updated_at, next_attempt_at, lease_owner,
           lease_expires_at, attachment_count, origin, queued_at)
        VALUES\u{20}
        """

    /// A contact as the clauses `contacts_added` and `contacts_refreshed`: added when new, its
    /// `updated_at` moved on when it is older than a minute.
    ///
    /// Not `ON CONFLICT DO UPDATE`: that locks the contact's row until commit even when nothing
    /// changes, and every send to the client would wait for the one before it. DO NOTHING locks
    /// nothing; the refresh takes the lock once a minute at most. (A batch never holds two writes
    /// for one client, so no contact comes twice.)
    private static func write(_ contact: ContactColumns, into writes: inout PostgresStatement) throws {
        let (client, channel, addressIndex) = (try writes.bind(contact.clientID), try writes.bind(contact.channel), try writes.bind(contact.addressIndex))
        let (address, updatedAt) = (try writes.bind(contact.address), try writes.bind(contact.updatedAt))
        let stale = try writes.bind(contact.updatedAt - ContactColumns.refreshMilliseconds)
        writes.gather(
            "contacts_added", head: "INSERT INTO client_contacts (client_id, channel, address_index, address, updated_at) VALUES ",
            tail: " ON CONFLICT (client_id, channel, address_index) DO NOTHING RETURNING client_id, channel, address_index",
            row: "(\(client), \(channel), \(addressIndex), \(address), \(updatedAt))"
        )
        // The casts: a VALUES list outside an INSERT resolves untyped binds as text.
        writes.gather(
            "contacts_refreshed", head: "UPDATE client_contacts c SET updated_at = v.updated_at FROM (VALUES ",
            tail: """
                ) AS v (client_id, channel, address_index, updated_at, stale)
                WHERE c.client_id = v.client_id AND c.channel = v.channel AND c.address_index = v.address_index AND c.updated_at < v.stale
                  AND NOT EXISTS (SELECT 1 FROM contacts_added a
                                  WHERE a.client_id = v.client_id AND a.channel = v.channel AND a.address_index = v.address_index)
                RETURNING 1
                """,
            row: "(\(client)::text, \(channel)::text, \(addressIndex)::bytea, \(updatedAt)::bigint, \(stale)::bigint)"
        )
    }

    package func communication(id: UUID) async throws(StoreError) -> Communication? {
        let (cipher, decoder) = (self.cipher, self.decoder)
        return try await connection { connection, logger in
            try await Self.communication(id.key, cipher: cipher, decoder: decoder, on: connection, logger: logger)
        }
    }

    package func attachments(of id: UUID) async throws(StoreError) -> [Attachment] {
        let cipher = self.cipher
        let key = id.key
        return try await connection { connection, logger -> [Attachment] in
            let rows = try await connection.query(
                "SELECT position, filename, content_type, data FROM attachments WHERE communication_id = \(key) ORDER BY position",
                logger: logger
            ).collect()
            guard !rows.isEmpty,
                let clientID = try await connection.query("SELECT client_id FROM communications WHERE id = \(key)", logger: logger)
                    .collect().first?.decode(String.self)
            else { return [] }
            let clientKey = try await Self.clientKey(clientID, cipher: cipher, on: connection, logger: logger)
            return try rows.compactMap { row in
                let (position, filename, contentType, data) = try row.decode((Int, Data, String, Data).self)
                return try AttachmentColumns(position: position, filename: filename, contentType: contentType, data: data)
                    .attachment(communicationID: key, key: clientKey)
            }
        }
    }

    package func claimDue(by now: Date, for lease: Lease, limit: Int) async throws(StoreError) -> [Communication] {
        let (nowMilliseconds, expires) = (now.millisecondsSince1970, lease.expiresAt.millisecondsSince1970)
        // SKIP LOCKED: sidecars claiming at the same moment each take different rows instead of
        // queueing behind (or double-claiming) the same ones.
        return try await claim("""
            UPDATE communications SET lease_owner = \(lease.owner), lease_expires_at = \(expires)
            WHERE id IN (
              SELECT id FROM communications
              WHERE next_attempt_at <= \(nowMilliseconds)
                AND (lease_expires_at IS NULL OR lease_expires_at < \(nowMilliseconds))
              ORDER BY priority DESC, next_attempt_at LIMIT \(limit)
              FOR UPDATE SKIP LOCKED)
            RETURNING id
            """)
    }

    package func claimLowUrgency(
        of clientID: UUID, besides id: UUID, dueBy: Date, for lease: Lease, limit: Int
    ) async throws(StoreError) -> [Communication] {
        let (client, lead, due, now) = (clientID.key, id.key, dueBy.millisecondsSince1970, Date().millisecondsSince1970)
        let expires = lease.expiresAt.millisecondsSince1970
        return try await claim("""
            UPDATE communications SET lease_owner = \(lease.owner), lease_expires_at = \(expires)
            WHERE id IN (
              SELECT id FROM communications
              WHERE client_id = \(client) AND urgency = 'low' AND id <> \(lead) AND status IN ('queued', 'scheduled')
                AND next_attempt_at <= \(due) AND (lease_expires_at IS NULL OR lease_expires_at < \(now))
              ORDER BY next_attempt_at LIMIT \(limit)
              FOR UPDATE SKIP LOCKED)
            RETURNING id
            """)
    }

    /// Runs a claiming `UPDATE ... RETURNING id` and reads back what it claimed, in one transaction.
    private func claim(_ statement: PostgresQuery) async throws(StoreError) -> [Communication] {
        let (cipher, decoder) = (self.cipher, self.decoder)
        return try await transaction { connection, logger in
            var ids: [String] = []
            for try await id in try await connection.query(statement, logger: logger).decode(String.self) { ids.append(id) }
            var communications: [Communication] = []
            for id in ids {
                if let communication = try await Self.communication(id, cipher: cipher, decoder: decoder, on: connection, logger: logger) {
                    communications.append(communication)
                }
            }
            return communications
        }
    }

    package func renew(_ id: UUID, lease: Lease) async throws(StoreError) -> Bool {
        let (key, expires) = (id.key, lease.expiresAt.millisecondsSince1970)
        return try await connection { connection, logger in
            let renewed = try await connection.query("""
                UPDATE communications SET lease_expires_at = \(expires)
                WHERE id = \(key) AND lease_owner = \(lease.owner) AND next_attempt_at IS NOT NULL
                RETURNING id
                """, logger: logger).collect()
            return renewed.count == 1
        }
    }

    package func release(_ id: UUID, owner: String, dueAt: Date?) async throws(StoreError) {
        let (key, due) = (id.key, dueAt?.millisecondsSince1970)
        _ = try await connection { connection, logger in
            try await connection.query("""
                UPDATE communications SET lease_owner = NULL, lease_expires_at = NULL,
                  next_attempt_at = CASE WHEN next_attempt_at IS NULL THEN NULL ELSE coalesce(\(due)::bigint, next_attempt_at) END
                WHERE id = \(key) AND lease_owner = \(owner)
                """, logger: logger)
        }
    }

    package func watchForReceipt(_ id: UUID, until deadline: Date?) async throws(StoreError) {
        let (key, due) = (id.key, deadline?.millisecondsSince1970)
        _ = try await connection { connection, logger in
            try await connection.query("""
                UPDATE communications SET next_attempt_at = \(due), lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(key) AND (status = 'sent' OR \(due)::bigint IS NULL)
                """, logger: logger)
        }
    }

    package func clients(withAddress address: String) async throws(StoreError) -> [UUID] {
        // Two during a key rotation: rows not yet re-indexed are under the previous key's index.
        let indexes = cipher.blindIndexes(address)
        let (current, previous) = (indexes[0], indexes[indexes.count - 1])
        return try await connection { connection, logger in
            var clients: [UUID] = []
            let rows = try await connection.query(
                "SELECT DISTINCT client_id FROM client_contacts WHERE address_index IN (\(current), \(previous)) ORDER BY client_id", logger: logger
            )
            for try await id in rows.decode(String.self) {
                if let uuid = UUID(hexString: id) { clients.append(uuid) }
            }
            return clients
        }
    }

    package func communicationID(providerMessageID: String) async throws(StoreError) -> UUID? {
        try await connection { connection, logger in
            let rows = try await connection.query(
                "SELECT communication_id FROM attempts WHERE provider_message_id = \(providerMessageID) LIMIT 1", logger: logger
            )
            for try await id in rows.decode(String.self) { return UUID(hexString: id) }
            return nil
        }
    }

    package func noteInbound(from clientID: UUID, on channel: CRMModel.Channel, at: Date) async throws(StoreError) {
        let (key, channel, at) = (clientID.key, channel.rawValue, at.millisecondsSince1970)
        _ = try await connection { connection, logger in
            try await connection.query("""
                INSERT INTO conversations (client_id, channel, last_inbound_at) VALUES (\(key), \(channel), \(at))
                ON CONFLICT (client_id, channel) DO UPDATE
                  SET last_inbound_at = greatest(conversations.last_inbound_at, excluded.last_inbound_at)
                """, logger: logger)
        }
    }

    package func lastInbound(from clientID: UUID, on channel: CRMModel.Channel) async throws(StoreError) -> Date? {
        let (key, channel) = (clientID.key, channel.rawValue)
        return try await connection { connection, logger in
            let rows = try await connection.query(
                "SELECT last_inbound_at FROM conversations WHERE client_id = \(key) AND channel = \(channel)", logger: logger
            )
            for try await at in rows.decode(Int64.self) { return Date(millisecondsSince1970: at) }
            return nil
        }
    }

    package func receive(_ reply: InboundReply, providerMessageID: String) async throws(StoreError) -> InboundReply? {
        let (cipher, encoder) = (self.cipher, self.encoder)
        let (channel, client, communication, at) = (
            reply.channel.rawValue, reply.clientID?.key, reply.communicationID?.key, reply.at.millisecondsSince1970
        )
        return try await transaction { connection, logger -> InboundReply? in
            // A webhook sent again waits here for the first one's transaction, then stores nothing.
            let stored = try await connection.query("""
                INSERT INTO inbound_messages (channel, provider_message_id, client_id, communication_id, intent, received_at)
                VALUES (\(channel), \(providerMessageID), \(client), \(communication), \(reply.intent), \(at))
                ON CONFLICT (channel, provider_message_id) DO NOTHING RETURNING channel
                """, logger: logger).collect()
            guard !stored.isEmpty else { return nil }
            var logged = reply
            logged.seq = try await Self.log(
                .inbound(reply), at: reply.at, cipher: cipher, encoder: encoder, stamping: (channel, providerMessageID),
                on: connection, logger: logger
            )
            return logged
        }
    }

    package func events(matching query: EventQuery) async throws(StoreError) -> [LoggedEvent] {
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 256, interpolationCount: 5)
        sql.appendLiteral("SELECT seq, method, key_id, params, personal, personal_id FROM events WHERE seq > ")
        sql.appendInterpolation(query.after)
        if let kinds = query.kinds {
            sql.appendLiteral(" AND method = ANY(")
            sql.appendInterpolation(kinds.sorted())
            sql.appendLiteral(")")
        }
        if let communicationID = query.communicationID {
            sql.appendLiteral(" AND communication_id = ")
            sql.appendInterpolation(communicationID.key)
        }
        if let clientID = query.clientID {
            sql.appendLiteral(" AND client_id = ")
            sql.appendInterpolation(clientID.key)
        }
        sql.appendLiteral(" ORDER BY seq LIMIT ")
        sql.appendInterpolation(query.limit)
        let statement = PostgresQuery(stringInterpolation: sql)
        let (cipher, decoder) = (self.cipher, self.decoder)
        return try await connection { connection, logger in
            var keys: [String: ClientKey?] = [:]
            var events: [LoggedEvent] = []
            for row in try await connection.query(statement, logger: logger).collect() {
                let (seq, method, keyID, params, personal, personalID) = try row.decode((Int64, String, String?, String, Data?, String?).self)
                var key: ClientKey?
                if let keyID {
                    if keys[keyID] == nil { keys[keyID] = try await Self.clientKey(keyID, cipher: cipher, on: connection, logger: logger) }
                    key = keys[keyID] ?? nil
                }
                events.append(try EventColumns.logged(
                    seq: seq, method: method, params: params, personal: personal, personalID: personalID, key: key, decoder: decoder
                ))
            }
            return events
        }
    }

    /// NOTIFY on the accepting sidecar's channel, with the seq of the logged event to announce: a
    /// wake-up, not the only copy (the event is in the log whether or not anyone hears it).
    package func forward(seq: Int64, about communicationID: UUID?) async throws(StoreError) -> Bool {
        guard let communicationID else { return false }
        let (id, instance) = (communicationID.key, self.instance)
        return try await connection { connection, logger in
            var origin: String?
            for try await value in try await connection.query(
                "SELECT origin FROM communications WHERE id = \(id)", logger: logger
            ).decode(String?.self) {
                origin = value
            }
            guard let origin, origin != instance else { return false }
            try await connection.query("SELECT pg_notify(\(Self.notificationChannel(of: origin)), \(String(seq)))", logger: logger)
            return true
        }
    }

    package func forwardedEvents() -> AsyncStream<Int64> { forwarded.stream }

    package func preferencesNotices() -> AsyncStream<PreferencesNotice> { notices.stream }

    package func shred(clientID: UUID) async throws(StoreError) {
        let key = clientID.key
        let now = Date().millisecondsSince1970
        try await transaction { connection, logger in
            try await Self.shred(key, at: now, on: connection, logger: logger)
            try await connection.query(
                "INSERT INTO audit_log (at, actor, action, client_id, detail) VALUES (\(now), 'system', 'client.erased', \(key), 'key shredded')", logger: logger
            )
        }
    }

    /// Destroys the client's key and what identifies it without the key, and marks its
    /// communications erased (a later key, made for a later communication, must not be tried on
    /// them); their number.
    @discardableResult
    private static func shred(_ client: String, at: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("DELETE FROM client_keys WHERE client_id = \(client)", logger: logger)
        // The blind indexes are keyed by the master key, not the client's: they go too.
        try await connection.query("DELETE FROM client_contacts WHERE client_id = \(client)", logger: logger)
        try await connection.query(
            "DELETE FROM idempotency_keys WHERE communication_id IN (SELECT id FROM communications WHERE client_id = \(client))", logger: logger
        )
        try await connection.query(
            "DELETE FROM attachments WHERE communication_id IN (SELECT id FROM communications WHERE client_id = \(client))", logger: logger
        )
        try await connection.query("DELETE FROM conversations WHERE client_id = \(client)", logger: logger)
        try await connection.query("UPDATE events SET personal = NULL, personal_id = NULL WHERE key_id = \(client)", logger: logger)
        let erased = try await connection.query("""
            UPDATE communications SET erased_at = \(at), idempotency_key = NULL, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL
            WHERE client_id = \(client) AND erased_at IS NULL
            RETURNING id
            """, logger: logger).collect()
        return erased.count
    }

    // MARK: - Key rotation

    package func rotateKeys(batch: Int) async throws(StoreError) -> KeyRotation {
        guard cipher.isRotating else { throw StoreError(.wrongKey, "no previous key to rotate from: set DB_ENCRYPTION_KEY_PREVIOUS") }
        let cipher = self.cipher
        var rotation = KeyRotation()
        var after = ""
        while true {
            let (last, count) = try await transaction { [after] connection, logger -> (String?, Int) in
                // FOR UPDATE: a sidecar creating the same client's key waits; none is re-wrapped twice.
                let rows = try await connection.query(
                    "SELECT client_id, wrapped_key FROM client_keys WHERE client_id > \(after) ORDER BY client_id LIMIT \(batch) FOR UPDATE",
                    logger: logger
                ).collect()
                var count = 0
                var last: String?
                for row in rows {
                    let (client, wrapped) = try row.decode((String, Data).self)
                    last = client
                    guard let rewrapped = try cipher.rewrap(wrapped, for: client) else { continue }
                    try await connection.query("UPDATE client_keys SET wrapped_key = \(rewrapped) WHERE client_id = \(client)", logger: logger)
                    count += 1
                }
                return (last, count)
            }
            rotation.clientKeys += count
            guard let last else { break }
            after = last
        }
        after = ""
        while true {
            let (last, count) = try await transaction { [after] connection, logger -> (String?, Int) in
                var clients: [String] = []
                for try await client in try await connection.query(
                    "SELECT DISTINCT client_id FROM client_contacts WHERE client_id > \(after) ORDER BY client_id LIMIT \(batch)", logger: logger
                ).decode(String.self) {
                    clients.append(client)
                }
                var count = 0
                for client in clients {
                    let key = try await Self.clientKey(client, cipher: cipher, on: connection, logger: logger)
                    for row in try await connection.query(
                        "SELECT channel, address_index, address, updated_at FROM client_contacts WHERE client_id = \(client) FOR UPDATE",
                        logger: logger
                    ).collect() {
                        let (channel, index, address, updatedAt) = try row.decode((String, Data, Data, Int64).self)
                        guard let contact = try ContactColumns.reindexed(
                            row: ContactColumns(clientID: client, channel: channel, addressIndex: index, address: address, updatedAt: updatedAt), key: key
                        ) else { continue }
                        // A sidecar may have written the new index meanwhile: keep one row.
                        try await connection.query("""
                            INSERT INTO client_contacts (client_id, channel, address_index, address, updated_at)
                            VALUES (\(client), \(channel), \(contact.addressIndex), \(contact.address), \(contact.updatedAt))
                            ON CONFLICT (client_id, channel, address_index) DO NOTHING
                            """, logger: logger)
                        try await connection.query(
                            "DELETE FROM client_contacts WHERE client_id = \(client) AND channel = \(channel) AND address_index = \(index)", logger: logger
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
        let check = cipher.keyCheck
        _ = try await connection { connection, logger in
            try await connection.query("UPDATE encryption SET key_check = \(check), rotating_to = NULL WHERE id = 1", logger: logger)
        }
        return rotation
    }

    // MARK: - Compliance

    package func audit(_ entry: AuditEntry) async throws(StoreError) -> Int64? {
        let everything = auditEverything
        return try await connection { connection, logger in try await Self.audit(entry, everything: everything, on: connection, logger: logger) }
    }

    @discardableResult
    private static func audit(_ entry: AuditEntry, everything: Bool, on connection: PostgresConnection, logger: Logger) async throws -> Int64? {
        var writes = PostgresStatement()
        guard try write(entry, everything: everything, into: &writes) else { return nil }
        writes.writeGathered()
        writes.append(" SELECT seq FROM audited")
        for try await seq in try await connection.query(writes.query, logger: logger).decode(Int64.self) { return seq }
        return nil
    }

    /// `entry`'s row in the clause `audited`, unless it is one only auditing everything keeps;
    /// whether it was written.
    @discardableResult
    private static func write(_ entry: AuditEntry, everything: Bool, into writes: inout PostgresStatement) throws -> Bool {
        guard everything || entry.isRequired else { return false }
        try writes.gather(
            "audited", head: "INSERT INTO audit_log (at, actor, action, client_id, communication_id, detail) VALUES ", tail: " RETURNING seq",
            values: entry.at.millisecondsSince1970, entry.actor.rawValue, entry.action, entry.clientID?.key, entry.communicationID?.key, entry.detail
        )
        return true
    }

    package func analytics(_ query: AnalyticsQuery) async throws(StoreError) -> AnalyticsFigures {
        let statements = AnalyticsSQL.statements(for: query, dialect: .postgres)
        // The deltas the triggers appended since the last report, folded first so that the report
        // reads few of them; it reads both tables, so a delta committed meanwhile still counts.
        if query.foldsDeltas { await compactAnalytics() }
        return try await transaction(atMost: Self.exportDeadline) { connection, logger in
            // One snapshot for every statement, as SQLite's read has.
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            return try await AnalyticsSQL.figures(running: statements) { statement in
                let rows = try await connection.query(PostgresQuery(unsafeSQL: statement.sql), logger: logger).collect()
                return try rows.map { try Self.cells($0, kinds: statement.kinds) }
            }
        }
    }

    package func records(_ query: AnalyticsQuery, to write: @escaping @Sendable (CommunicationRecord) -> Bool) async throws(StoreError) -> Int {
        let (sql, kinds) = (AnalyticsSQL.records(for: query), AnalyticsSQL.recordKinds)
        let logger = self.logger
        // Rows stream with back-pressure: the driver reads the next ones as these are written.
        return try await within(atMost: Self.exportDeadline) {
            try await self.client.withConnection { connection in
                var count = 0
                for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                    count += 1
                    guard write(AnalyticsSQL.record(try Self.cells(row, kinds: kinds))) else { break }
                }
                return count
            }
        }
    }

    /// Folds the analytics deltas into their groups (`AnalyticsQuarters`): before each report, and
    /// with each retention pass so that they do not pile up between reports. Best effort: a report
    /// reads the deltas left too, and a purge that committed must not be reported failed.
    private func compactAnalytics() async {
        do {
            try await transaction(atMost: Self.exportDeadline) { connection, logger in
                // READ COMMITTED whatever the server's default: the fold's statement must see the
                // deltas committed while it waited for the lock, or it could fail to serialize.
                try await connection.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", logger: logger)
                try await connection.query("SELECT pg_advisory_xact_lock(\(AnalyticsQuarters.compactionLock))", logger: logger)
                for statement in AnalyticsQuarters.compaction(sqlite: false) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            }
        } catch {
            logger.warning("folding the analytics deltas failed; they are read as they are", metadata: ["error": "\(error)"])
        }
    }

    /// How long a report or an export may take: over a million rows that is seconds to minutes,
    /// not the few seconds a request gets.
    private static let exportDeadline: Duration = .seconds(900)

    private static func cells(_ row: PostgresRow, kinds: [AnalyticsSQL.Kind]) throws -> [AnalyticsSQL.Cell] {
        var cells: [AnalyticsSQL.Cell] = []
        for (kind, cell) in zip(kinds, row) {
            switch kind {
            case .text: cells.append(.text(try cell.decode(String?.self)))
            case .integer: cells.append(.integer(try cell.decode(Int64?.self)))
            }
        }
        return cells
    }

    package func auditEntries(matching query: AuditQuery) async throws(StoreError) -> [AuditEntry] {
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 256, interpolationCount: 6)
        sql.appendLiteral("SELECT seq, at, actor, action, client_id, communication_id, detail FROM audit_log WHERE seq > ")
        sql.appendInterpolation(query.after ?? 0)
        if let clientID = query.clientID {
            sql.appendLiteral(" AND client_id = ")
            sql.appendInterpolation(clientID.key)
        }
        if let action = query.action {
            sql.appendLiteral(" AND action = ")
            sql.appendInterpolation(action)
        }
        if let since = query.since {
            sql.appendLiteral(" AND at >= ")
            sql.appendInterpolation(since.millisecondsSince1970)
        }
        if let until = query.until {
            sql.appendLiteral(" AND at < ")
            sql.appendInterpolation(until.millisecondsSince1970)
        }
        sql.appendLiteral(" ORDER BY seq LIMIT ")
        sql.appendInterpolation(query.limit)
        let statement = PostgresQuery(stringInterpolation: sql)
        return try await connection { connection, logger in
            try await connection.query(statement, logger: logger).collect().map { try Self.auditColumns($0).entry() }
        }
    }

    private static func auditColumns(_ row: PostgresRow) throws -> AuditColumns {
        let (seq, at, actor, action, client, communication, detail) = try row.decode((Int64, Int64, String, String, String?, String?, String?).self)
        return AuditColumns(seq: seq, at: at, actor: actor, action: action, clientID: client, communicationID: communication, detail: detail)
    }

    package func export(clientID: UUID, at: Date) async throws(StoreError) -> ClientExport {
        let (cipher, decoder) = (self.cipher, self.decoder)
        return try await transaction { connection, logger -> ClientExport in
            try await Self.export(clientID, at: at, cipher: cipher, decoder: decoder, on: connection, logger: logger)
        }
    }

    // Swift 6.3.1's optimizer crashes (signal 11 in LLVM's coroutine splitting) compiling this in
    // release builds, as it does `communication(_:)`; it is I/O-bound and loses nothing unoptimized.
    @_optimize(none)
    private static func export(
        _ clientID: UUID, at: Date, cipher: FieldCipher, decoder: JSONDecoder, on connection: PostgresConnection, logger: Logger
    ) async throws -> ClientExport {
        let client = clientID.key
        // One snapshot for the whole document.
        try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
        let key = try await Self.clientKey(client, cipher: cipher, on: connection, logger: logger)
        let preferences = try await connection.query("SELECT * FROM client_preferences WHERE client_id = \(client)", logger: logger)
            .collect().first.map { try PreferencesColumns(row: $0.makeRandomAccess()).preferences(decoder: decoder) }
        let consent = try await connection.query("""
            SELECT seq, at, actor, action, client_id, communication_id, detail FROM audit_log
            WHERE client_id = \(client) AND action = \(AuditEntry.preferencesSaved) ORDER BY seq
            """, logger: logger).collect().map { try Self.auditColumns($0).entry() }
        var contacts: [ClientExport.Contact] = []
        for row in try await connection.query(
            "SELECT channel, address, updated_at FROM client_contacts WHERE client_id = \(client) ORDER BY channel, updated_at", logger: logger
        ).collect() {
            let (channel, address, updatedAt) = try row.decode((String, Data, Int64).self)
            if let contact = try ContactColumns.contact(clientID: client, channel: channel, address: address, updatedAt: updatedAt, key: key) {
                contacts.append(contact)
            }
        }
        var communications: [Communication] = []
        for row in try await connection.query(
            "SELECT id FROM communications WHERE client_id = \(client) ORDER BY created_at, id", logger: logger
        ).collect() {
            if let communication = try await Self.communication(
                try row.decode(String.self), cipher: cipher, decoder: decoder, on: connection, logger: logger
            ) {
                communications.append(communication)
            }
        }
        var inbound: [LoggedEvent] = []
        for row in try await connection.query("""
            SELECT seq, method, params, personal, personal_id FROM events
            WHERE client_id = \(client) AND method = \(EngineEvent.inboundMethod) ORDER BY seq
            """, logger: logger).collect() {
            let (seq, method, params, personal, personalID) = try row.decode((Int64, String, String, Data?, String?).self)
            inbound.append(try EventColumns.logged(
                seq: seq, method: method, params: params, personal: personal, personalID: personalID, key: key, decoder: decoder
            ))
        }
        var conversations: [ClientExport.Conversation] = []
        for row in try await connection.query(
            "SELECT channel, last_inbound_at FROM conversations WHERE client_id = \(client) ORDER BY channel", logger: logger
        ).collect() {
            let (channel, last) = try row.decode((String, Int64).self)
            if let channel = CRMModel.Channel(rawValue: channel) {
                conversations.append(ClientExport.Conversation(channel: channel, lastInboundAt: Date(millisecondsSince1970: last)))
            }
        }
        var attachments: [ClientExport.AttachmentMetadata] = []
        for row in try await connection.query("""
            SELECT a.communication_id, a.position, a.filename, a.content_type, length(a.data) FROM attachments a
            JOIN communications c ON c.id = a.communication_id WHERE c.client_id = \(client) ORDER BY c.created_at, a.position
            """, logger: logger).collect() {
            let (id, position, filename, contentType, size) = try row.decode((String, Int, Data, String, Int).self)
            if let metadata = try AttachmentColumns.metadata(
                communicationID: id, position: position, filename: filename, contentType: contentType, sealedBytes: size, key: key
            ) {
                attachments.append(metadata)
            }
        }
        var erasedAt: Date?
        for try await at in try await connection.query(
            "SELECT erased_at FROM client_erasures WHERE client_id = \(client)", logger: logger
        ).decode(Int64.self) {
            erasedAt = Date(millisecondsSince1970: at)
        }
        return ClientExport(
            clientID: clientID, exportedAt: at, preferences: preferences, consentHistory: consent, contacts: contacts,
            communications: communications, inboundMessages: inbound, conversations: conversations, attachments: attachments,
            erasedAt: erasedAt
        )
    }

    package func forget(clientID: UUID, reason: String?, actor: AuditEntry.Actor, at: Date) async throws(StoreError) -> Forgetting {
        let (client, cipher, encoder, millis) = (clientID.key, self.cipher, self.encoder, at.millisecondsSince1970)
        return try await transaction { connection, logger -> Forgetting in
            // One erasure of a client at a time, across sidecars. Then the client's key row, before
            // anything is read: a writer that holds it (FOR SHARE, see `clientKey(creatingFor:)`)
            // commits first and is erased here; one that comes after waits, finds no key and
            // starts fresh under a new one. Nothing is left sealed under the destroyed key.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(client)))", logger: logger)
            try await connection.query("SELECT 1 FROM client_keys WHERE client_id = \(client) FOR UPDATE", logger: logger)
            var ids: [UUID] = []
            for try await id in try await connection.query(
                "SELECT id FROM communications WHERE client_id = \(client) ORDER BY created_at, id", logger: logger
            ).decode(String.self) {
                if let uuid = UUID(hexString: id) { ids.append(uuid) }
            }
            var previous: Int64?
            for try await value in try await connection.query(
                "SELECT erased_at FROM client_erasures WHERE client_id = \(client)", logger: logger
            ).decode(Int64.self) {
                previous = value
            }
            var unerased = 0
            for try await count in try await connection.query("""
                SELECT (SELECT count(*) FROM communications WHERE client_id = \(client) AND erased_at IS NULL)
                     + (SELECT count(*) FROM client_keys WHERE client_id = \(client))
                """, logger: logger).decode(Int64.self) {
                unerased = Int(count)
            }
            if let previous, unerased == 0 {
                return Forgetting(
                    erasure: Erasure(clientID: clientID, erasedAt: Date(millisecondsSince1970: previous), erasedCommunications: 0, cancelledCommunications: 0),
                    cancelled: [], communicationIDs: ids
                )
            }
            // Row locks in one order (as every claim takes them), and before the event counter.
            let unsent = try await PostgresBatchReads.lock("""
                SELECT id, plan_id, client_id, message_type, status, channel_used FROM communications
                WHERE client_id = \(client) AND status IN \(unescaped: ComplianceSQL.unsentStatuses) ORDER BY id FOR UPDATE
                """, on: connection, logger: logger)
            var cancelled: [StatusChange] = []
            var moves = PostgresStatement()
            for (index, id) in unsent.keys.sorted().enumerated() {
                // A statement a few hundred cancels long: well within the binds a statement may have.
                if index > 0, index % 500 == 0 {
                    try await Self.run(moves, on: connection, logger: logger)
                    moves = PostgresStatement()
                }
                moves.scope = "c\(index)_"
                if let change = try Self.move(
                    id, to: .cancelled, channel: nil, attempt: nil, recording: false, detail: ComplianceSQL.erasedReason,
                    providerMessageID: nil, at: at, locked: unsent[id], into: &moves
                ) {
                    cancelled.append(change)
                }
            }
            // The cancels' writes in one statement, before the shred; their events go with the log's.
            try await Self.run(moves, on: connection, logger: logger)
            let erased = try await Self.shred(client, at: millis, on: connection, logger: logger)
            try await connection.query("""
                INSERT INTO client_erasures (client_id, erased_at, reason) VALUES (\(client), \(millis), \(reason))
                ON CONFLICT (client_id) DO UPDATE SET erased_at = excluded.erased_at, reason = excluded.reason
                """, logger: logger)
            try await Self.audit(
                AuditEntry(
                    at: at, actor: actor, action: AuditEntry.clientErased, clientID: clientID,
                    detail: ComplianceSQL.erasedDetail(erased: erased, cancelled: cancelled.count)
                ),
                everything: true, on: connection, logger: logger
            )
            // Every cancel's event in one statement, last: the counter is held for one round trip
            // and the commit, however many were cancelled.
            let seqs = try await Self.log(cancelled.map(EngineEvent.status), at: at, cipher: cipher, encoder: encoder, on: connection, logger: logger)
            for index in cancelled.indices { cancelled[index].seq = seqs[index] }
            return Forgetting(
                erasure: Erasure(clientID: clientID, erasedAt: at, erasedCommunications: erased, cancelledCommunications: cancelled.count),
                cancelled: cancelled, communicationIDs: ids
            )
        }
    }

    package func purge(before: Date, auditBefore: Date, limit: Int, dryRun: Bool) async throws(StoreError) -> PurgeCounts {
        let (cutoff, auditCutoff) = (before.millisecondsSince1970, auditBefore.millisecondsSince1970)
        let counts = try await transaction { connection, logger -> PurgeCounts in
            func count(_ query: PostgresQuery) async throws -> Int {
                for try await value in try await connection.query(query, logger: logger).decode(Int64.self) { return Int(value) }
                return 0
            }
            var counts = PurgeCounts()
            // SKIP LOCKED: rows a send or a receipt holds right now wait for the next pass.
            let old: PostgresQuery = """
                SELECT id FROM communications WHERE updated_at < \(cutoff) AND status NOT IN \(unescaped: ComplianceSQL.unsentStatuses)
                ORDER BY updated_at LIMIT \(limit) \(unescaped: dryRun ? "" : "FOR UPDATE SKIP LOCKED")
                """
            var ids: [String] = []
            for try await id in try await connection.query(old, logger: logger).decode(String.self) { ids.append(id) }
            if !ids.isEmpty {
                counts.communications = ids.count
                counts.attempts = try await count("SELECT count(*) FROM attempts WHERE communication_id = ANY(\(ids))")
                counts.statusEvents = try await count("SELECT count(*) FROM status_events WHERE communication_id = ANY(\(ids))")
                counts.attachments = try await count("SELECT count(*) FROM attachments WHERE communication_id = ANY(\(ids))")
                if !dryRun {
                    // Attempts, timelines, attachments and idempotency keys go with them (a trigger;
                    // migration 0010).
                    try await connection.query("DELETE FROM communications WHERE id = ANY(\(ids))", logger: logger)
                }
            }
            if dryRun {
                counts.events = try await count("""
                    SELECT count(*) FROM (SELECT 1 FROM events WHERE seq < (
                      SELECT coalesce(min(seq), (SELECT coalesce(max(seq), 0) + 1 FROM events)) FROM events WHERE at >= \(cutoff)) LIMIT \(limit)) o
                    """)
                counts.inboundMessages = try await count(
                    "SELECT count(*) FROM (SELECT 1 FROM inbound_messages WHERE received_at < \(cutoff) LIMIT \(limit)) o"
                )
                counts.auditLog = try await count("SELECT count(*) FROM (SELECT 1 FROM audit_log WHERE at < \(auditCutoff) LIMIT \(limit)) o")
            } else {
                counts.events = try await count("""
                    WITH kept AS (SELECT coalesce(min(seq), (SELECT coalesce(max(seq), 0) + 1 FROM events)) AS first FROM events WHERE at >= \(cutoff)),
                    gone AS (DELETE FROM events WHERE seq IN (SELECT seq FROM events, kept WHERE seq < kept.first ORDER BY seq LIMIT \(limit)) RETURNING 1)
                    SELECT count(*) FROM gone
                    """)
                counts.inboundMessages = try await count("""
                    WITH gone AS (
                      DELETE FROM inbound_messages WHERE (channel, provider_message_id) IN (
                        SELECT channel, provider_message_id FROM inbound_messages WHERE received_at < \(cutoff) ORDER BY received_at LIMIT \(limit))
                      RETURNING 1)
                    SELECT count(*) FROM gone
                    """)
                counts.auditLog = try await count("""
                    WITH gone AS (DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log WHERE at < \(auditCutoff) ORDER BY at LIMIT \(limit)) RETURNING 1)
                    SELECT count(*) FROM gone
                    """)
            }
            return counts
        }
        if !dryRun { await compactAnalytics() }
        return counts
    }

    package func communications(matching query: CommunicationQuery) async throws(StoreError) -> CommunicationPage {
        // Each condition is appended with its value bound, never spliced into the text.
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 256, interpolationCount: 6)
        sql.appendLiteral("""
            SELECT id, plan_id, client_id, message_type, urgency, status, channel_used, created_at, updated_at
            FROM communications WHERE true
            """)
        if let planID = query.planID {
            sql.appendLiteral(" AND plan_id = ")
            sql.appendInterpolation(planID.key)
        }
        if let clientID = query.clientID {
            sql.appendLiteral(" AND client_id = ")
            sql.appendInterpolation(clientID.key)
        }
        if let status = query.status {
            sql.appendLiteral(" AND status = ")
            sql.appendInterpolation(status.rawValue)
        }
        if let after = query.after {
            sql.appendLiteral(" AND (created_at, id) < (")
            sql.appendInterpolation(after.createdAtMilliseconds)
            sql.appendLiteral(", ")
            sql.appendInterpolation(after.id)
            sql.appendLiteral(")")
        }
        sql.appendLiteral(" ORDER BY created_at DESC, id DESC LIMIT ")
        sql.appendInterpolation(query.limit + 1)
        let limit = query.limit
        let statement = PostgresQuery(stringInterpolation: sql)
        return try await connection { connection, logger in
            let rows = try await connection.query(statement, logger: logger).collect()
            let items = try rows.prefix(limit).map { row in
                let row = row.makeRandomAccess()
                return try CommunicationColumns.summary(
                    id: row["id"].decode(String.self), planID: row["plan_id"].decode(String.self),
                    clientID: row["client_id"].decode(String.self), messageType: row["message_type"].decode(String.self),
                    urgency: row["urgency"].decode(String.self), status: row["status"].decode(String.self),
                    channelUsed: row["channel_used"].decode(String?.self), createdAt: row["created_at"].decode(Int64.self),
                    updatedAt: row["updated_at"].decode(Int64.self)
                )
            }
            let next = rows.count > limit
                ? items.last.map { PageCursor(createdAtMilliseconds: $0.createdAt.millisecondsSince1970, id: $0.id.key) }
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
        return try await groupCommit(keys: [.communication(key)]) { connection, logger, reads, writes, events in
            guard let status else {
                guard reads.communications[key] != nil else { throw Self.missing(key) }
                try Self.record(attempt, for: key, into: &writes)
                return { _ in nil }
            }
            return try await Self.move(
                key, to: status, channel: attempt.channel, attempt: attempt, recording: true, detail: attempt.error, providerMessageID: nil,
                at: attempt.startedAt.addingTimeInterval(Double(attempt.latencyMilliseconds) / 1000), locked: reads.communications[key],
                cipher: cipher, encoder: encoder, into: &writes, events: &events, on: connection, logger: logger
            )
        }
    }

    package func move(
        _ id: UUID,
        to status: CommunicationStatus,
        channel: CRMModel.Channel?,
        detail: String?,
        providerMessageID: String?,
        at: Date
    ) async throws(StoreError) -> StatusChange? {
        let (key, cipher, encoder) = (id.key, self.cipher, self.encoder)
        return try await groupCommit(keys: [.communication(key)]) { connection, logger, reads, writes, events in
            try await Self.move(
                key, to: status, channel: channel, attempt: nil, detail: detail, providerMessageID: providerMessageID, at: at,
                locked: reads.communications[key], cipher: cipher, encoder: encoder, into: &writes, events: &events, on: connection, logger: logger
            )
        }
    }

    package func preferences(for clientID: UUID) async throws(StoreError) -> ClientPreferences? {
        let key = clientID.key
        let decoder = self.decoder
        return try await connection { connection, logger in
            try await connection.query("SELECT * FROM client_preferences WHERE client_id = \(key)", logger: logger)
                .collect().first.map { try PreferencesColumns(row: $0.makeRandomAccess()).preferences(decoder: decoder) }
        }
    }

    package func save(_ preferences: ClientPreferences, source: String, announcing: ConsentChange?) async throws(StoreError) -> ConsentChange? {
        let row = try PreferencesColumns(preferences, encoder: encoder)
        let (cipher, encoder) = (self.cipher, self.encoder)
        return try await transaction { connection, logger -> ConsentChange? in
            try await connection.query("""
                INSERT INTO client_preferences
                  (client_id, preferred_channels, timezone, quiet_hours_start, quiet_hours_end, opt_out_email,
                   opt_out_sms, opt_out_whatsapp, language_preference, updated_at)
                VALUES (\(row.clientID), \(row.preferredChannels), \(row.timezone), \(row.quietHoursStart),
                   \(row.quietHoursEnd), \(row.optOutEmail), \(row.optOutSMS), \(row.optOutWhatsApp),
                   \(row.languagePreference), \(row.updatedAt))
                ON CONFLICT (client_id) DO UPDATE SET
                  preferred_channels = excluded.preferred_channels, timezone = excluded.timezone,
                  quiet_hours_start = excluded.quiet_hours_start, quiet_hours_end = excluded.quiet_hours_end,
                  opt_out_email = excluded.opt_out_email, opt_out_sms = excluded.opt_out_sms,
                  opt_out_whatsapp = excluded.opt_out_whatsapp,
                  language_preference = excluded.language_preference, updated_at = excluded.updated_at
                """, logger: logger)
            try await connection.query(
                "INSERT INTO audit_log (at, actor, action, client_id, detail) VALUES (\(row.updatedAt), \(ComplianceSQL.actor(ofSource: source).rawValue), 'preferences.saved', \(row.clientID), \(row.auditDetail(source: source)))",
                logger: logger
            )
            // Delivered at commit, to every sidecar listening (this one too): the next send to the
            // client anywhere reads the change.
            try await connection.query("SELECT pg_notify(\(Self.preferencesChannel), \(preferences.clientID.uuidString))", logger: logger)
            guard var change = announcing else { return nil }
            change.seq = try await Self.log(.optedOut(change), at: change.at, cipher: cipher, encoder: encoder, on: connection, logger: logger)
            return change
        }
    }

    package func queueSize() async throws(StoreError) -> Int {
        try await connection { connection, logger in
            let rows = try await connection.query(
                "SELECT count(*) FROM communications WHERE status IN ('pending', 'queued', 'scheduled')", logger: logger
            )
            for try await count in rows.decode(Int64.self) { return Int(count) }
            return 0
        }
    }

    private static func applicationName(of instance: String) -> String { "crm-sidecar/\(instance)" }

    /// This sidecar's connections as the server counts them (the pool opens and closes them with load).
    package func connectionCount() async throws(StoreError) -> Int {
        let name = Self.applicationName(of: instance)
        return try await connection { connection, logger in
            let rows = try await connection.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = \(name)", logger: logger)
            for try await count in rows.decode(Int64.self) { return Int(count) }
            return 0
        }
    }

    package func ping() async throws(StoreError) {
        _ = try await connection { connection, logger in
            try await connection.query("SELECT 1", logger: logger).collect().count
        }
    }

    // MARK: - Shared steps

    /// The client's data key, or nil when it has none: it never had one, or it was shredded.
    private static func clientKey(
        _ clientID: String, cipher: FieldCipher, on connection: PostgresConnection, logger: Logger
    ) async throws -> ClientKey? {
        let wrapped = try await connection.query("SELECT wrapped_key FROM client_keys WHERE client_id = \(clientID)", logger: logger)
            .collect().first?.decode(Data.self)
        return try ClientKey.unwrap(wrapped, for: clientID, cipher: cipher)
    }

    /// The client's data key, made and stored first when the client has none (or it was shredded),
    /// as a batch makes its clients' keys (`PostgresBatchReads.makeKeys`, which says how a key
    /// another sidecar makes or shreds at the same moment is handled).
    private static func clientKey(
        creatingFor clientID: String, cipher: FieldCipher, on connection: PostgresConnection, logger: Logger
    ) async throws -> ClientKey {
        // FOR SHARE: an erasure of this client waits until this transaction has committed what it
        // seals under the key (and erases it), instead of shredding the key underneath it.
        let held = try await connection.query(
            "SELECT wrapped_key FROM client_keys WHERE client_id = \(clientID) FOR SHARE", logger: logger
        ).collect().first?.decode(Data.self)
        return try await clientKey(creatingFor: clientID, held: held, cipher: cipher, on: connection, logger: logger)
    }

    /// The same, given the client's wrapped key as this transaction read it `FOR SHARE` (nil: none).
    private static func clientKey(
        creatingFor clientID: String, held: Data?, cipher: FieldCipher, on connection: PostgresConnection, logger: Logger
    ) async throws -> ClientKey {
        if let stored = try ClientKey.unwrap(held, for: clientID, cipher: cipher) { return stored }
        let wrapped = try await PostgresBatchReads.makeKeys(for: [clientID], cipher: cipher, on: connection, logger: logger).first?.1
        guard let key = try ClientKey.unwrap(wrapped, for: clientID, cipher: cipher) else {
            throw StoreError(.unavailable, "PostgreSQL answered a client key insert with no key; the communication was not stored")
        }
        return key
    }

    // Swift 6.3.1's optimizer crashes (signal 11 in LLVM's coroutine splitting) compiling this
    // function in release builds; it is I/O-bound, so it loses nothing by not being optimized.
    @_optimize(none)
    private static func communication(
        _ key: String, cipher: FieldCipher, decoder: JSONDecoder, on connection: PostgresConnection, logger: Logger
    ) async throws -> Communication? {
        guard let row = try await connection.query("SELECT * FROM communications WHERE id = \(key)", logger: logger)
            .collect().first
        else { return nil }
        let columns = try CommunicationColumns(row: row.makeRandomAccess())
        let clientKey = try await clientKey(columns.clientID, cipher: cipher, on: connection, logger: logger)
        var communication = try columns.communication(decoder: decoder, key: clientKey)
        communication.attempts = try await connection.query(
            "SELECT * FROM attempts WHERE communication_id = \(key) ORDER BY number", logger: logger
        ).collect().map { try AttemptColumns(row: $0.makeRandomAccess()).attempt() }
        communication.events = try await connection.query(
            "SELECT * FROM status_events WHERE communication_id = \(key) ORDER BY at, seq", logger: logger
        ).collect().map { try StatusEventColumns(row: $0.makeRandomAccess()).event() }
        return communication
    }

    /// Moves the communication to `status`, if that goes forward: its row and its status event join
    /// `writes`, and the change's event joins `events`. What hands the change over once they are
    /// committed with its seq (nil: it did not move). With `recording`, `attempt` is recorded too.
    private static func move(
        _ key: String,
        to status: CommunicationStatus,
        channel: CRMModel.Channel?,
        attempt: Attempt?,
        recording: Bool = false,
        detail: String?,
        providerMessageID: String?,
        at: Date,
        locked: PostgresBatchReads.Locked?,
        cipher: FieldCipher,
        encoder: WireEncoder,
        into writes: inout PostgresStatement,
        events: inout [EventColumns],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> @Sendable ([Int64]) -> StatusChange? {
        guard let change = try move(
            key, to: status, channel: channel, attempt: attempt, recording: recording, detail: detail,
            providerMessageID: providerMessageID, at: at, locked: locked, into: &writes
        ) else { return { _ in nil } }
        events.append(try await seal(.status(change), at: at, cipher: cipher, encoder: encoder, on: connection, logger: logger))
        return { seqs in
            var logged = change
            logged.seq = seqs.first
            return logged
        }
    }

    /// Moves the communication `key`, whose row `locked` is (nil: there is none), to `status`, if
    /// that goes forward: its row and its status event join `writes`; the change, for the caller to
    /// log (nil: it did not move). With `recording`, `attempt` is recorded too, whether or not the
    /// communication moves; when it is missing, that fails, as the caller should hear.
    ///
    /// The row must have been read `FOR UPDATE` in this transaction: two receipts for one message
    /// (or two sidecars) must not both move it.
    private static func move(
        _ key: String,
        to status: CommunicationStatus,
        channel: CRMModel.Channel?,
        attempt: Attempt?,
        recording: Bool,
        detail: String?,
        providerMessageID: String?,
        at: Date,
        locked row: PostgresBatchReads.Locked?,
        into writes: inout PostgresStatement
    ) throws -> StatusChange? {
        let recorded = recording ? attempt : nil
        guard let row else {
            // An attempt for no communication: no foreign key refuses it (migration 0010), so this does.
            if recorded != nil { throw missing(key) }
            return nil
        }
        guard let move = try StatusMove.plan(
            id: key, planID: row.planID, clientID: row.clientID, messageType: row.messageType,
            current: row.status, channelUsed: row.channelUsed,
            to: status, channel: channel, attempt: attempt, detail: detail, providerMessageID: providerMessageID, at: at
        ) else {
            if let recorded { try record(recorded, for: key, into: &writes) }
            return nil
        }
        if let recorded { try Self.write(recorded, for: key, into: &writes) }
        let counted = recorded.flatMap { $0.outcome == .skipped ? nil : $0 }
        let values: [(any PostgresThrowingDynamicTypeEncodable)?] = [
            key, status.rawValue, move.channelUsed, at.millisecondsSince1970, move.endsWork, counted != nil,
            counted?.channel.rawValue, counted.map { Int64($0.number) }, counted?.provider, counted?.errorCategory?.rawValue,
        ]
        let placeholders = try zip(values, movedTypes).map { value, type in try writes.bind(value) + "::" + type }
        writes.gather("moved", head: movedHead, tail: movedTail, row: "(" + placeholders.joined(separator: ", ") + ")")
        try write([StatusEventColumns(StatusEvent(status: status, at: at, channel: channel, detail: detail))], for: key, into: &writes)
        return move.change
    }

    /// Every move of a batch, in one UPDATE of the rows it joins, one a move (`movedTypes` are their
    /// columns' types: a column of NULLs alone would be text). Why not one UPDATE a move: the
    /// server plans each clause of a statement, and a batch of 30 moves spent more of its CPU on
    /// planning them than on running them. Once sent (or ended) there is nothing left for the send
    /// loop: the work and its lease go (`ends`). A move that records an attempt (`counted`: one
    /// that was not skipped) adds it to the analytics summary.
    private static let movedHead = """
        UPDATE communications SET status = v.status, channel_used = v.channel_used, updated_at = v.at\(AnalyticsRollups.milestones(reachedBy: "v.status", at: "v.at")),
          next_attempt_at = CASE WHEN v.ends THEN NULL ELSE next_attempt_at END,
          lease_owner = CASE WHEN v.ends THEN NULL ELSE lease_owner END,
          lease_expires_at = CASE WHEN v.ends THEN NULL ELSE lease_expires_at END,
        \(AnalyticsRollups.attemptAssignments({ ["v.attempt_channel", "v.attempt_number", "v.attempt_provider", "v.attempt_error", "v.id"][$0 - 1] }, when: "v.counted"))
        FROM (VALUES\u{20}
        """
    private static let movedTail = """
        ) AS v (id, status, channel_used, at, ends, counted, attempt_channel, attempt_number, attempt_provider, attempt_error)
        WHERE communications.id = v.id RETURNING 1
        """
    private static let movedTypes = ["text", "text", "text", "bigint", "boolean", "boolean", "text", "bigint", "text", "text"]

    /// What recording an attempt for `key` throws when no such communication is stored.
    private static func missing(_ key: String) -> StoreError {
        StoreError(.unavailable, "no communication \(key) is stored to record an attempt for; nothing was stored")
    }

    /// Records `attempt` alone, with what it adds to the analytics summary, as `WITH` clauses.
    private static func record(_ attempt: Attempt, for key: String, into writes: inout PostgresStatement) throws {
        try write(attempt, for: key, into: &writes)
        // A skipped attempt is not counted; and a bind the SQL does not use is refused.
        guard attempt.outcome != .skipped else { return }
        let id = try writes.bind(key)
        let placeholder = try analyticsPlaceholders(of: attempt, id: id, in: &writes)
        writes.with("counted") { sql in sql.append(AnalyticsRollups.attemptUpdate(placeholder) + " RETURNING 1") }
    }

    /// A counted (not skipped) attempt's values bound for `AnalyticsRollups`' numbered
    /// placeholders; 5 is `id`, the communication's, bound already.
    private static func analyticsPlaceholders(of attempt: Attempt, id: String, in writes: inout PostgresStatement) throws -> (Int) -> String {
        let values = [
            try writes.bind(attempt.channel.rawValue), try writes.bind(attempt.number), try writes.bind(attempt.provider),
            try writes.bind(attempt.errorCategory?.rawValue), id,
        ]
        return { values[$0 - 1] }
    }

    /// Status events of the communication `key`, in the clause `statuses`.
    private static func write(_ events: [StatusEventColumns], for key: String, into writes: inout PostgresStatement) throws {
        for event in events {
            try writes.gather(
                "statuses", head: "INSERT INTO status_events (communication_id, status, channel, detail, at) VALUES ", tail: " RETURNING 1",
                values: key, event.status, event.channel, event.detail, event.at
            )
        }
    }

    /// `attempt`'s row, in the clause `attempted`.
    private static func write(_ attempt: Attempt, for key: String, into writes: inout PostgresStatement) throws {
        let columns = AttemptColumns(attempt)
        try writes.gather(
            "attempted", head: Self.attemptsHead, tail: " RETURNING 1",
            values: key, columns.number, columns.channel, columns.provider, columns.startedAt, columns.latencyMilliseconds,
            columns.outcome, columns.providerMessageID, columns.errorCategory, columns.error, columns.missingVariables
        )
    }

    private static let attemptsHead = """
        INSERT INTO attempts
          (communication_id, number, channel, provider, started_at, latency_ms, outcome, provider_message_id,
           error_category, error, missing_variables)
        VALUES\u{20}
        """

    /// Appends `event` to the log and commits the transaction; its `seq`. The counter row it
    /// updates stays locked until the commit, so every other event-writing transaction (in any
    /// sidecar) waits for this one before it takes the next number. That is what makes seq order
    /// commit order; `PostgresTransaction.commit(after:)` keeps the wait as short as it can be.
    private static func log(
        _ event: EngineEvent, at: Date, cipher: FieldCipher, encoder: WireEncoder, stamping inbound: InboundKey? = nil,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Int64 {
        guard let seq = try await log(
            [event], at: at, cipher: cipher, encoder: encoder, stamping: inbound, on: connection, logger: logger
        ).first else {
            throw StoreError(.unavailable, "PostgreSQL wrote no event: the event_counter row is missing")
        }
        return seq
    }

    /// An inbound message's key, for the log statement to record the message's seq in its row.
    typealias InboundKey = (channel: String, providerMessageID: String)

    /// Appends `events` to the log in one statement, and commits; their seqs (see `commit`).
    private static func log(
        _ events: [EngineEvent], at: Date, cipher: FieldCipher, encoder: WireEncoder, stamping inbound: InboundKey? = nil,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [Int64] {
        var rows: [EventColumns] = []
        for event in events {
            rows.append(try await seal(event, at: at, cipher: cipher, encoder: encoder, on: connection, logger: logger))
        }
        return try await commit(PostgresStatement(), rows, stamping: inbound, on: connection, logger: logger)
    }

    /// `event` as the log stores it, its personal fields sealed under their owner's key (made first
    /// when the owner has none).
    private static func seal(
        _ event: EngineEvent, at: Date, cipher: FieldCipher, encoder: WireEncoder, on connection: PostgresConnection, logger: Logger
    ) async throws -> EventColumns {
        var sealer: (id: String, key: ClientKey)?
        if let keyID = EventColumns.keyID(of: event, cipher: cipher) {
            sealer = (keyID, try await clientKey(creatingFor: keyID, cipher: cipher, on: connection, logger: logger))
        }
        return try EventColumns(event, sealedBy: sealer, at: at, encoder: encoder)
    }

    /// Runs `writes` (`WITH` clauses) as a statement of their own, when there are any.
    private static func run(_ writes: PostgresStatement, on connection: PostgresConnection, logger: Logger) async throws {
        guard !writes.isEmpty else { return }
        var statement = writes
        statement.writeGathered()
        statement.append(" SELECT 1")
        // Read to the end: a statement that returns rows reports a failure at its end (a trigger's,
        // run there) only to whoever reads that far, and COMMIT would then roll back quietly.
        _ = try await connection.query(statement.query, logger: logger).collect()
    }

    /// Ends the open transaction: appends `rows` to the event log in one statement and commits; their
    /// seqs, in order. The counter moves by their number, and they take the numbers below its new
    /// value. With no rows, `writes` run and the transaction is left for its owner to commit.
    /// Given up on (`abandoned`) before the commit, it rolls back and throws `CancellationError`.
    ///
    /// The counter row stays locked until the commit, so every other event-writing transaction (in
    /// any sidecar) waits for this one before it takes the next number. That is what makes seq
    /// order commit order; `PostgresTransaction.commit(after:)` keeps the wait as short as it can be.
    ///
    /// `writes` holds the transaction's other writes as `WITH` clauses: they go in the same
    /// statement, ahead of the counter, so that the whole write is one round trip. What PostgreSQL
    /// does at the statement's end (the analytics trigger) then runs with the
    /// counter held: tens of microseconds a write, none of it waiting for another transaction.
    private static func commit(
        _ writes: PostgresStatement, _ rows: [EventColumns], stamping inbound: InboundKey? = nil,
        on connection: PostgresConnection, logger: Logger, abandoned: @escaping @Sendable () -> Bool = { false }
    ) async throws -> [Int64] {
        guard !rows.isEmpty else {
            try await run(writes, on: connection, logger: logger)
            if abandoned() { throw CancellationError() }
            return []
        }
        var statement = writes
        statement.scope = ""
        let gate = statement.gate()
        let count = try statement.bind(Int64(rows.count))
        statement.with("next", write: false) { sql in
            sql.append("UPDATE event_counter SET last = last + \(count)")
            sql.append(gate.map { " FROM \($0) WHERE id = 1 AND \($0).rows >= 0" } ?? " WHERE id = 1")
            sql.append(" RETURNING last")
        }
        // The casts: VALUES inside a CTE resolves untyped binds (a nil) as text before it meets the columns.
        try statement.with("rows (position, method, communication_id, client_id, key_id, params, personal, personal_id, at)", write: false) { sql in
            sql.append("VALUES ")
            for (position, row) in rows.enumerated() {
                if position > 0 { sql.append(", ") }
                let values = [
                    try sql.bind(Int64(position)) + "::bigint", try sql.bind(row.method) + "::text",
                    try sql.bind(row.communicationID) + "::text", try sql.bind(row.clientID) + "::text",
                    try sql.bind(row.keyID) + "::text", try sql.bind(row.params) + "::text", try sql.bind(row.personal) + "::bytea",
                    try sql.bind(row.personalID) + "::text", try sql.bind(row.at) + "::bigint",
                ]
                sql.append("(\(values.joined(separator: ", ")))")
            }
        }
        statement.with("logged", write: false) { sql in
            sql.append("""
                INSERT INTO events (seq, method, communication_id, client_id, key_id, params, personal, personal_id, at)
                SELECT next.last - \(count) + 1 + rows.position, rows.method, rows.communication_id, rows.client_id, rows.key_id,
                  rows.params, rows.personal, rows.personal_id, rows.at
                FROM next, rows ORDER BY rows.position RETURNING seq
                """)
        }
        if let inbound {
            // In this statement because it is the last: nothing may follow the commit it carries.
            let (channel, message) = (try statement.bind(inbound.channel), try statement.bind(inbound.providerMessageID))
            statement.with("stamped", write: false) { sql in
                sql.append("UPDATE inbound_messages SET seq = (SELECT min(seq) FROM logged) WHERE channel = \(channel) AND provider_message_id = \(message)")
            }
        }
        statement.append(" SELECT seq FROM logged")
        let seqs = try await PostgresTransaction.commit(
            after: statement.query, on: connection, logger: logger, expectingRows: rows.count, abandonedIf: abandoned
        ).map { try $0.decode(Int64.self) }
        return seqs.sorted()
    }

    private func connection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws(StoreError) -> T {
        let logger = self.logger
        return try await within {
            try await self.client.withConnection { connection in
                // Abandoned at the deadline (the caller was answered -32001): do nothing.
                try Task.checkCancellation()
                return try await body(connection, logger)
            }
        }
    }

    /// How many of the send path's writes wait to be committed; for tests that hold the event counter.
    package var unfinishedWrites: Int { group.unfinished }

    /// Runs `stage` in a transaction shared with the send path's other writes of the moment (see
    /// `PostgresGroupCommit`), or gives up after the deadline with `.unavailable`, nothing stored.
    private func groupCommit<T: Sendable>(
        keys: [PostgresWriteKey], alone: Bool = false, _ stage: @escaping PostgresGroupCommit<PostgresBatchReads>.Stage<T>
    ) async throws(StoreError) -> T {
        try await within { try await self.group.write(keys: keys, alone: alone, stage) }
    }

    private func transaction<T: Sendable>(
        atMost limit: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws(StoreError) -> T {
        let logger = self.logger
        return try await within(atMost: limit) {
            try await self.client.withConnection { connection in
                // Abandoned at the deadline (the caller was answered -32001): write nothing.
                try Task.checkCancellation()
                return try await PostgresTransaction.run(on: connection, logger: logger, body)
            }
        }
    }

    /// Runs `body`, or gives up after the deadline with `.unavailable` (see `BoundedWait` for why the
    /// deadline cannot be left to cancellation alone).
    private func within<T: Sendable>(
        atMost limit: Duration? = nil, _ body: @escaping @Sendable () async throws -> T
    ) async throws(StoreError) -> T {
        let deadline = limit ?? self.deadline
        do {
            guard let value = try await BoundedWait.run(atMost: deadline, body) else {
                throw StoreError(.unavailable, "PostgreSQL did not answer within \(deadline)")
            }
            return value
        } catch let error as StoreError {
            throw error
        } catch let error as PSQLError {
            throw StoreError(.unavailable, "PostgreSQL: \(Self.describe(error))")
        } catch let error as PostgresTransactionError {
            if let reason = error.closureError as? StoreError { throw reason }
            throw StoreError(.unavailable, "PostgreSQL: \(Self.describe(error))")
        } catch {
            throw StoreError(.unavailable, "PostgreSQL: \(error)")
        }
    }

    /// The error's code and the server's own message; never the query or its binds.
    static func describe(_ error: PSQLError) -> String {
        var text = "\(error.code)"
        if let state = error.serverInfo?[.sqlState] { text += " (SQLSTATE \(state))" }
        if let message = error.serverInfo?[.message] { text += ": \(message)" }
        return text
    }

    /// The first thing that went wrong in a transaction, the same way; its own description would
    /// spell out the statements.
    static func describe(_ error: PostgresTransactionError) -> String {
        let first = [error.beginError, error.closureError, error.commitError, error.rollbackError].compactMap { $0 }.first
        switch first {
        case let error as PSQLError: return describe(error)
        case let error?: return String(describing: type(of: error))
        case nil: return "transaction failed"
        }
    }
}
