package import Channels
package import CRMModel
package import Foundation
package import Logging
package import Persistence

/// What the law asks of the sidecar beyond sending: access to a client's data (`clients.export`),
/// its erasure (`clients.forget`), the audit trail (`audit.list`) and retention.
package struct Compliance: Sendable {
    /// Retention settings: RETENTION_DAYS and AUDIT_RETENTION_DAYS.
    package struct Retention: Sendable {
        /// How long communications, attempts, events and inbound messages are kept.
        package var communications: TimeInterval
        /// How long audit entries are kept.
        package var audit: TimeInterval
        /// Communications removed per transaction: small, so a pass never holds up sends for long.
        package var batch: Int
        /// The shortest pause between batches; a slow batch is followed by a pause twice its length,
        /// so a pass takes at most a third of the database's time however loaded it is.
        package var pause: Duration

        package init(days: Int, auditDays: Int, batch: Int = 50, pause: Duration = .milliseconds(20)) {
            communications = TimeInterval(days) * 86_400
            audit = TimeInterval(auditDays) * 86_400
            self.batch = batch
            self.pause = pause
        }
    }

    private let store: any Store
    private let events: any EngineEventSink
    private let outbox: OutboxCopies?
    private let retention: Retention
    private let now: @Sendable () -> Date
    private let logger: Logger

    package init(
        store: any Store, events: any EngineEventSink, outbox: OutboxCopies?, retention: Retention,
        now: @escaping @Sendable () -> Date = { Date() }, logger: Logger
    ) {
        self.store = store
        self.events = events
        self.outbox = outbox
        self.retention = retention
        self.now = now
        self.logger = logger
    }

    /// Everything stored about the client, decrypted. Not audited yet: the caller calls `handedOver`
    /// once the document has actually left (returned, or written to its file).
    package func export(clientID: UUID) async throws(EngineError) -> ClientExport {
        let export = try await storing { () throws(StoreError) in try await store.export(clientID: clientID, at: now()) }
        guard !export.isEmpty else {
            throw .notFound("no client has id \(clientID.canonicalString): nothing is stored about it")
        }
        return export
    }

    /// Audits an export that was handed over, as `client.exported`.
    package func handedOver(_ export: ClientExport, toFile: Bool) async throws(EngineError) {
        try await storing { () throws(StoreError) in
            try await store.audit(AuditEntry(
                at: export.exportedAt, actor: .rpc, action: AuditEntry.clientExported, clientID: export.clientID,
                detail: "communications=\(export.communications.count) inbound_messages=\(export.inboundMessages.count) to_file=\(toFile)"
            ))
        }
    }

    /// Erases the client's personal data (crypto-shredding) and removes its outbox copies; the
    /// client's unsent communications are cancelled, and the workflow hears of each. Repeated, it
    /// changes nothing and answers the last erasure's time with zero counts.
    package func forget(clientID: UUID, reason: String?) async throws(EngineError) -> Erasure {
        let forgetting = try await storing { () throws(StoreError) in
            try await store.forget(clientID: clientID, reason: reason, actor: .rpc, at: now())
        }
        for change in forgetting.cancelled {
            await events.publish(.status(change))
        }
        var erasure = forgetting.erasure
        // After the commit: a crash in between leaves copies that the next call removes.
        erasure.filesRemoved = outbox?.remove(forgetting.communicationIDs) ?? 0
        logger.notice("client erased", metadata: [
            "client.id": "\(clientID.canonicalString)", "erased": "\(erasure.erasedCommunications)",
            "cancelled": "\(erasure.cancelledCommunications)", "files_removed": "\(erasure.filesRemoved)",
        ])
        return erasure
    }

    /// A page of the audit trail.
    package func auditEntries(matching query: AuditQuery) async throws(EngineError) -> [AuditEntry] {
        try await storing { () throws(StoreError) in try await store.auditEntries(matching: query) }
    }

    /// One retention pass, in batches until nothing old is left; audited as `retention.purged` when
    /// it removed anything. By this process's clock, never the database server's.
    package func purge(dryRun: Bool) async throws(StoreError) -> PurgeCounts {
        let at = now()
        let before = at.addingTimeInterval(-retention.communications)
        let auditBefore = at.addingTimeInterval(-retention.audit)
        var total = PurgeCounts()
        let clock = ContinuousClock()
        while true {
            let started = clock.now
            // A dry run counts everything at once: it removes nothing, so it holds nothing up.
            let counts = try await store.purge(before: before, auditBefore: auditBefore, limit: dryRun ? Int(Int32.max) : retention.batch, dryRun: dryRun)
            total = total + counts
            // A batch that was not full anywhere means nothing old is left: no pause, no empty round trip.
            let full = [counts.communications, counts.events, counts.inboundMessages, counts.auditLog].contains(retention.batch)
            if dryRun || !full || Task.isCancelled { break }
            try? await Task.sleep(for: max(retention.pause, (clock.now - started) * 2))
        }
        if !dryRun, total.total > 0 {
            let detail = "communications=\(total.communications) events=\(total.events) inbound_messages=\(total.inboundMessages) audit_log=\(total.auditLog)"
            try await store.audit(AuditEntry(at: at, actor: .system, action: AuditEntry.retentionPurged, detail: detail))
            logger.notice("retention purge", metadata: ["removed": "\(detail)"])
        }
        return total
    }

    private func storing<T>(_ body: () async throws(StoreError) -> T) async throws(EngineError) -> T {
        do {
            return try await body()
        } catch {
            logger.error("storage failed", metadata: ["error": "\(error.description)"])
            throw .storageUnavailable(error.message)
        }
    }
}
