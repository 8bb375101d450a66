package import CRMModel
package import Foundation

/// Where communications, their attempts and timelines, client preferences and contacts, and the due
/// work of the send loop are kept.
///
/// Requirements on every backend (the conformance suite in `PersistenceTests` holds each to them):
/// - A method returns only once what it wrote is durable: a caller acknowledges on that basis.
/// - Status changes go only forward (`CommunicationStatus.canMove(to:)`); a change that would go
///   backwards or repeat is ignored and reported as `nil`, so late and duplicate receipts are harmless.
///   The one repeat that is a change: `sent` again on another channel (a fallback on silence).
/// - An attempt and the status change it causes are written in one transaction.
/// - Every change the workflow hears of (a status change, an opt-out from a provider, an inbound
///   reply) is also a row of the event log, written in the same transaction (a transactional
///   outbox); the change comes back with its `seq`. `seq` numbers the log gaplessly in commit order,
///   per database: a reader paging with `events(matching:)` never meets a smaller `seq` later.
/// - Contact details and message content are stored sealed under the client's data key
///   (`FieldCipher`); without that key they read back empty, never as an error.
/// - A communication is due work from its `decision.sendAt` until it is sent or ends; due work is
///   handed to one lease holder at a time.
/// - Errors are `StoreError`s that say which part failed and never carry personal data.
package protocol Store: Sendable {
    /// Writes a new communication with its first timeline event and the client's contacts; with a
    /// lease, the caller holds its work from the start (it is about to send it itself).
    ///
    /// With an idempotency key on the communication, the key is recorded with `fingerprint` in the
    /// same transaction; a key already recorded writes nothing and answers which communication it
    /// belongs to, or that it was used for another request. Concurrent inserts with one key (several
    /// sidecars included) store exactly one communication. `attachments` are stored with it, in the
    /// same transaction, and so is its first status change in the event log.
    @discardableResult
    func insert(
        _ communication: Communication, attachments: [Attachment], leasedTo lease: Lease?, fingerprint: Data?
    ) async throws(StoreError) -> Idempotency.Insertion

    func communication(id: UUID) async throws(StoreError) -> Communication?

    /// The email attachments stored with a communication, in order; empty once the client's key is
    /// shredded.
    func attachments(of id: UUID) async throws(StoreError) -> [Attachment]

    /// Communications newest first, filtered, a page at a time.
    func communications(matching query: CommunicationQuery) async throws(StoreError) -> CommunicationPage

    /// Records an attempt and, when `status` goes forward from the current status, moves the
    /// communication there; the change, logged.
    func record(
        _ attempt: Attempt,
        for id: UUID,
        movingTo status: CommunicationStatus?
    ) async throws(StoreError) -> StatusChange?

    /// Moves a communication to `status` when that goes forward, and logs the change; `nil` when it
    /// does not. `providerMessageID`: the message a receipt is about.
    func move(
        _ id: UUID,
        to status: CommunicationStatus,
        channel: Channel?,
        detail: String?,
        providerMessageID: String?,
        at: Date
    ) async throws(StoreError) -> StatusChange?

    /// Up to `limit` communications due by `now` whose work nobody holds (or whose lease ran out),
    /// highest priority first, now held by `lease`. Two callers never get the same communication.
    func claimDue(by now: Date, for lease: Lease, limit: Int) async throws(StoreError) -> [Communication]

    /// Up to `limit` other low-urgency communications of `clientID` due by `dueBy` that nobody holds,
    /// now held by `lease`: the riders of a digest.
    func claimLowUrgency(of clientID: UUID, besides id: UUID, dueBy: Date, for lease: Lease, limit: Int) async throws(StoreError) -> [Communication]

    /// Extends `lease` on `id`; `false` when the caller no longer holds it (it ran out and another
    /// sidecar claimed the work), so the caller must stop sending.
    func renew(_ id: UUID, lease: Lease) async throws(StoreError) -> Bool

    /// Gives held work back unfinished for another claim: due again at `dueAt` (a retry after a
    /// backoff), or when it was due before if nil. Nothing happens if `owner` no longer holds it.
    func release(_ id: UUID, owner: String, dueAt: Date?) async throws(StoreError)

    /// Makes a sent communication due again at `deadline`, unless a receipt moves it on first (for
    /// fallback on silence); nothing happens if it is no longer `sent`. With nil, stops watching.
    func watchForReceipt(_ id: UUID, until deadline: Date?) async throws(StoreError)

    /// Clients known to have used `address` (an email address or E.164 number), by its blind index.
    func clients(withAddress address: String) async throws(StoreError) -> [UUID]

    /// The communication a provider's message id was sent for, by the attempt that sent it.
    func communicationID(providerMessageID: String) async throws(StoreError) -> UUID?

    /// Notes that the client wrote to us on `channel` at `at`; an earlier time never replaces a later one.
    func noteInbound(from clientID: UUID, on channel: Channel, at: Date) async throws(StoreError)

    /// When the client last wrote to us on `channel`.
    func lastInbound(from clientID: UUID, on channel: Channel) async throws(StoreError) -> Date?

    /// Stores a client's reply (its sender and text sealed) and logs it; nil when the provider's
    /// message `providerMessageID` on that channel was stored before (a webhook sent again).
    func receive(_ reply: InboundReply, providerMessageID: String) async throws(StoreError) -> InboundReply?

    /// Events of the log in `seq` order, filtered, a page at a time. Personal fields whose key was
    /// shredded read back empty.
    func events(matching query: EventQuery) async throws(StoreError) -> [LoggedEvent]

    /// Wakes the sidecar that accepted communication `communicationID` to announce the logged event
    /// `seq`, when that is another process sharing this database and still listening; `false` when
    /// it is this process's to announce (it accepted the communication, or nobody else could have).
    func forward(seq: Int64, about communicationID: UUID?) async throws(StoreError) -> Bool

    /// The `seq`s other sidecars asked this one to announce, as they arrive; finishes when the store closes.
    func forwardedEvents() -> AsyncStream<Int64>

    /// Preferences saved by other processes sharing the database, as they commit (PostgreSQL, through
    /// LISTEN/NOTIFY); finishes when the store closes, or at once where there is no such channel.
    func preferencesNotices() -> AsyncStream<PreferencesNotice>

    /// Destroys the client's data key: everything sealed under it becomes unreadable for good.
    func shred(clientID: UUID) async throws(StoreError)

    func preferences(for clientID: UUID) async throws(StoreError) -> ClientPreferences?

    /// Saves the client's preferences and audits the consent flags with `source`: what changed them
    /// (`preferences.update`, `sms_keyword`, `email_unsubscribe`, ...); logs `announcing`, when given,
    /// and returns it logged.
    @discardableResult
    func save(_ preferences: ClientPreferences, source: String, announcing: ConsentChange?) async throws(StoreError) -> ConsentChange?

    /// Re-wraps every client key under the current master key and re-indexes every contact under
    /// its blind-index key, `batch` at a time, while other sidecars (given both keys) keep working;
    /// then records the current key as the database's. Needs DB_ENCRYPTION_KEY_PREVIOUS.
    func rotateKeys(batch: Int) async throws(StoreError) -> KeyRotation

    // MARK: - Compliance

    /// Appends `entry` to the audit trail (unless auditing is limited to what the law needs and
    /// the entry is not that); its seq, or nil when not written.
    @discardableResult
    func audit(_ entry: AuditEntry) async throws(StoreError) -> Int64?

    /// The aggregates `analytics.get` reports for `query`, computed by the database from one
    /// snapshot (see `AnalyticsSQL`).
    func analytics(_ query: AnalyticsQuery) async throws(StoreError) -> AnalyticsFigures

    /// Hands every communication in `query`'s scope, oldest first, to `write` as it reads it, in
    /// one read (a million fit in constant memory); stops early when `write` says false. How many
    /// it handed over.
    func records(_ query: AnalyticsQuery, to write: @escaping @Sendable (CommunicationRecord) -> Bool) async throws(StoreError) -> Int

    /// The audit trail, oldest first, filtered: at most `limit` entries after `query.after`.
    func auditEntries(matching query: AuditQuery) async throws(StoreError) -> [AuditEntry]

    /// Everything stored about the client, decrypted; empty (`isEmpty`) for a client never seen.
    func export(clientID: UUID, at: Date) async throws(StoreError) -> ClientExport

    /// Erases the client's personal data in one transaction: its data key (so everything sealed
    /// under it), contacts and blind indexes, idempotency keys, attachments and the sealed parts of
    /// its events go; communications not yet sent are cancelled (logged `communication.status`
    /// changes, returned); the rest stay, marked erased, for analytics. Audited as `client.erased`.
    /// Nothing left to erase (a repeat): the last erasure's time, zero counts, nothing written.
    func forget(clientID: UUID, reason: String?, actor: AuditEntry.Actor, at: Date) async throws(StoreError) -> Forgetting

    /// One retention pass: removes up to `limit` communications whose last status change is before
    /// `before` (never one still waiting to be sent), with their attempts, timelines and attachments,
    /// and events, inbound messages and audit entries older than their cut-offs, in small batches.
    /// With `dryRun`, counts what it would remove and removes nothing.
    func purge(before: Date, auditBefore: Date, limit: Int, dryRun: Bool) async throws(StoreError) -> PurgeCounts

    /// How many communications wait to be sent (queued or scheduled); for `crm_queue_size`.
    func queueSize() async throws(StoreError) -> Int

    /// How many connections this process holds to the database now; for `crm_database_connections`.
    func connectionCount() async throws(StoreError) -> Int

    /// Answers when the database does; for `health`.
    func ping() async throws(StoreError)
}

extension Store {
    /// Saves preferences the workflow set with `preferences.update`.
    package func save(_ preferences: ClientPreferences) async throws(StoreError) {
        try await save(preferences, source: "preferences.update", announcing: nil)
    }

    /// Saves preferences with nothing for the workflow to hear of.
    package func save(_ preferences: ClientPreferences, source: String) async throws(StoreError) {
        try await save(preferences, source: source, announcing: nil)
    }

    /// A move that is no provider's receipt.
    package func move(
        _ id: UUID, to status: CommunicationStatus, channel: Channel?, detail: String?, at: Date
    ) async throws(StoreError) -> StatusChange? {
        try await move(id, to: status, channel: channel, detail: detail, providerMessageID: nil, at: at)
    }

    /// The logged event `seq`, as it was announced; nil when there is none (or this version cannot read it).
    package func event(seq: Int64) async throws(StoreError) -> EngineEvent? {
        guard let logged = try await events(matching: EventQuery(after: seq - 1, limit: 1)).first, logged.seq == seq else { return nil }
        return EventColumns.event(logged, encoder: WireJSON.makeEncoder(), decoder: WireJSON.makeDecoder())
    }

    /// Inserts a communication without an idempotency key.
    package func insert(_ communication: Communication, leasedTo lease: Lease?) async throws(StoreError) {
        try await insert(communication, attachments: [], leasedTo: lease, fingerprint: nil)
    }
}
