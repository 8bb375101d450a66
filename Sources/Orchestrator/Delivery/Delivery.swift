package import Channels
package import CRMModel
package import Foundation
package import Logging
package import Persistence

/// Takes a stored communication through its channels: asks the `DeliveryMachine` what to do next
/// and does it, until the machine hands the work back to the queue or has no more to do.
///
/// The caller holds the communication's lease (it inserted or claimed it). Every decision is the
/// machine's; this loop does the I/O: reads the client's consent before each step, renders and
/// sends, records each attempt in the same transaction as the status change it causes, publishes
/// each change, and performs what an answer means beyond the record (a provider marked unhealthy,
/// a Retry-After honoured by every send to that provider).
package struct Delivery: Sendable {
    private let store: any Store
    private let providers: ProviderRegistry
    private let renderer: TemplateRenderer
    private let events: any EngineEventSink
    private let leasing: WorkLeasing
    private let health: ProviderHealth
    private let rateLimiter: RateLimiter
    private let consent: ConsentCache
    private let rules: DeliveryMachine.Rules
    private let now: @Sendable () -> Date
    private let metrics = DeliveryMetrics()
    private let logger: Logger

    package init(
        store: any Store, providers: ProviderRegistry, renderer: TemplateRenderer, events: any EngineEventSink,
        leasing: WorkLeasing, health: ProviderHealth = ProviderHealth(), rateLimiter: RateLimiter = RateLimiter(),
        consent: ConsentCache, rules: DeliveryMachine.Rules = DeliveryMachine.Rules(),
        now: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.store = store
        self.providers = providers
        self.renderer = renderer
        self.events = events
        self.leasing = leasing
        self.health = health
        self.rateLimiter = rateLimiter
        self.consent = consent
        self.rules = rules
        self.now = now
        self.logger = logger
    }

    /// Whether low-urgency messages of one client claimed together go out as one digest.
    package var sendsDigests: Bool { rules.digestWindow != nil }

    /// Sends `communication` under `lease`; returns it as it stands once the machine has no more to
    /// do now (sent, waiting in the queue for a retry, ended), or the lease was lost to another sidecar.
    ///
    /// `companions` are low-urgency messages for the same client claimed together with it, already
    /// held under `lease`: they join its digest, or go back to the queue.
    package func deliver(
        _ communication: Communication, lease: Lease, companions: [Communication] = []
    ) async throws(StoreError) -> Communication {
        var unused = companions
        var machine = DeliveryMachine(communication, rules: rules)
        var logger = logger
        logger[metadataKey: "communication.id"] = "\(communication.id.canonicalString)"
        do {
            try await run(&machine, lease: lease, companions: &unused, logger: logger)
        } catch {
            try await releaseUnused(unused, lease: lease)
            throw error
        }
        // Companions that never joined a digest go back to the queue now rather than when the lease runs out.
        try await releaseUnused(unused, lease: lease)
        return machine.communication
    }

    private func run(
        _ machine: inout DeliveryMachine, lease: Lease, companions: inout [Communication], logger: Logger
    ) async throws(StoreError) {
        var lease = lease
        let id = machine.communication.id
        if !machine.communication.status.awaitsSending {
            logger.notice("claimed after it was sent: no receipt in time, or not delivered; a later channel may take over")
        }
        while true {
            let optedOut = try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                try await consent.optedOut(of: machine.communication.clientID, at: now())
            }
            switch machine.next(optedOut: optedOut, providers: providers.states(health), at: now()) {
            case .send(let send):
                guard let provider = providers.provider(named: send.provider, on: send.channel) else {
                    // The machine only names providers the registry listed; the lease hands the work on.
                    logger.error("the delivery machine named an unknown provider", metadata: ["provider": "\(send.provider)"])
                    return
                }
                // Waits its turn under the provider's rate limit rather than failing; only shutdown ends the wait.
                let waited: Bool
                do { waited = try await rateLimiter.acquire(provider.name) } catch { return }
                // A wait may have been long: the client may have opted out meanwhile (the machine then
                // skips the channel). The lease is extended only after it, so it cannot run out during
                // the wait while this sidecar still means to send.
                if waited {
                    let optedOut = try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                        try await consent.optedOut(of: machine.communication.clientID, at: now())
                    }
                    if optedOut.contains(send.channel) { continue }
                }
                if machine.communication.attempts.count > 0 {
                    lease = leasing.lease(from: now())
                    guard try await store.renew(id, lease: lease) else {
                        logger.warning("lost the lease on this communication; another sidecar carries on with it")
                        return
                    }
                }
                let riders = send.digest ? try await digestRiders(of: machine.communication, for: send, with: &companions, lease: lease) : []
                let files = try await attachments(of: [machine.communication] + riders, lease: lease, logger: logger)
                let answer = await call(provider, for: send, machine: &machine, riders: riders, attachments: files)
                try await settle(riders, after: answer.attempt, lease: lease, logger: logger)
                try await record(answer.attempt, movingTo: answer.movesTo, in: &machine, lease: lease, logger: logger)
                await perform(answer, of: send, for: machine.communication, logger: logger)
            case .skip(let attempt):
                logger.notice("channel skipped", metadata: ["channel": "\(attempt.channel.rawValue)", "reason": "\(attempt.reason ?? "")"])
                try await record(attempt, movingTo: nil, in: &machine, lease: lease, logger: logger)
            case .retry(let at, let channel, let reason):
                logger.warning("retrying later", metadata: [
                    "channel": "\(channel.rawValue)", "reason": "\(reason)", "retry.in_s": "\(at.timeIntervalSince(now()))",
                ])
                metrics.retry(on: channel)
                // Any sidecar may take the retry when it is due.
                try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                    try await store.release(id, owner: lease.owner, dueAt: at)
                }
                return
            case .watch(let deadline):
                try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                    try await store.watchForReceipt(id, until: deadline)
                }
                return
            case .stopWatching:
                try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                    try await store.watchForReceipt(id, until: nil)
                }
                return
            case .finish(let status, let reason):
                let at = now()
                let change = try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                    try await store.move(id, to: status, channel: nil, detail: reason, at: at)
                }
                if let change {
                    machine.apply(change)
                    await events.publish(.status(change))
                }
                logger.log(level: status == .cancelled ? .notice : .error, "communication ended", metadata: [
                    "status": "\(status.rawValue)", "attempts": "\(machine.communication.attempts.count)",
                ])
                return
            case .done:
                return
            }
        }
    }

    /// One call to `provider` for `send` (with the riders of its digest, if any), fed to the machine.
    private func call(
        _ provider: any ChannelProvider, for send: DeliveryMachine.Send, machine: inout DeliveryMachine, riders: [Communication],
        attachments files: [(Attachment, AttachmentOrigin)]
    ) async -> DeliveryMachine.Answer {
        let communication = machine.communication
        let content = RenderedMessage.digest(([communication] + riders).map {
            renderer.render($0.messageType, for: send.channel, context: $0.context, language: send.language)
        })
        let message = OutboundMessage(
            communicationID: communication.id, attempt: send.attempt, messageType: communication.messageType,
            channel: send.channel, to: send.address, content: content, recipientName: communication.recipient.name,
            attachments: files.map(\.0), attachmentOrigins: files.map(\.1), language: send.language,
            replyWindowOpen: send.channel == .whatsapp ? await replyWindowOpen(for: communication.clientID) : false,
            context: communication.context
        )
        let started = now()
        let result: Result<ProviderReceipt, ProviderError>
        do {
            result = .success(try await provider.send(message))
        } catch {
            result = .failure(error)
        }
        return machine.answered(
            send, with: result, startedAt: started, finishedAt: now(),
            missingVariables: content.missingVariables.isEmpty ? nil : content.missingVariables
        )
    }

    /// What an answer means beyond its record: logs, metrics, an unhealthy provider, a provider's pause.
    private func perform(_ answer: DeliveryMachine.Answer, of send: DeliveryMachine.Send, for communication: Communication, logger: Logger) async {
        var metadata: Logger.Metadata = [
            "channel": "\(send.channel.rawValue)", "provider": "\(send.provider)", "attempt": "\(send.attempt)",
        ]
        guard let failure = answer.failure else {
            logger.info("message sent", metadata: metadata)
            if let first = answer.fellBackFrom { metrics.fallback(from: first, to: send.channel) }
            return
        }
        metadata["error"] = "\(answer.attempt.error ?? "")"
        metrics.apiError(api: send.provider, errorType: failure.rawValue)
        if let reason = answer.unhealthy {
            health.markUnhealthy(send.provider, reason: reason)
            logger.critical("provider refused our credentials; it is unhealthy until they are fixed", metadata: metadata)
            // An operator must act: the audit trail keeps it after the logs have rotated.
            let entry = AuditEntry(
                at: now(), actor: .system, action: AuditEntry.providerAuthFailed, clientID: communication.clientID,
                communicationID: communication.id, detail: "provider=\(send.provider) channel=\(send.channel.rawValue)"
            )
            if (try? await store.audit(entry)) == nil {
                logger.error("cannot audit the provider's refusal of our credentials", metadata: metadata)
            }
        } else if failure == .rateLimited {
            if let seconds = answer.pauseProvider { rateLimiter.pause(send.provider, for: seconds) }
            logger.warning("provider asked to slow down", metadata: metadata)
        } else {
            logger.warning("provider did not take the message", metadata: metadata)
        }
    }

    /// Records `attempt` (and the move it causes) durably, and publishes the change.
    private func record(
        _ attempt: Attempt, movingTo status: CommunicationStatus?, in machine: inout DeliveryMachine, lease: Lease, logger: Logger
    ) async throws(StoreError) {
        let id = machine.communication.id
        let change = try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
            try await store.record(attempt, for: id, movingTo: status)
        }
        if let change {
            machine.apply(change)
            await events.publish(.status(change))
        }
    }

    /// Other low-urgency messages for the same address on this channel, due within the digest
    /// window and now held under `lease`, to go out in one message with the communication.
    private func digestRiders(
        of communication: Communication, for send: DeliveryMachine.Send, with companions: inout [Communication], lease: Lease
    ) async throws(StoreError) -> [Communication] {
        guard let window = rules.digestWindow else { return [] }
        defer { companions = [] }
        let claimed = try await companions + store.claimLowUrgency(
            of: communication.clientID, besides: communication.id, dueBy: now().addingTimeInterval(window), for: lease, limit: 20
        )
        var riders: [Communication] = []
        for candidate in claimed {
            if DeliveryMachine.joinsDigest(candidate, of: send) {
                riders.append(candidate)
            } else {
                try await store.release(candidate.id, owner: lease.owner, dueAt: nil)
            }
        }
        return riders
    }

    /// The riders of a digest share its outcome: sent, each with its own attempt under the digest's
    /// provider message id (which links them), or handed back to the queue to go another time.
    private func settle(_ riders: [Communication], after attempt: Attempt, lease: Lease, logger: Logger) async throws(StoreError) {
        for rider in riders {
            guard attempt.outcome == .sent else {
                try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                    try await store.release(rider.id, owner: lease.owner, dueAt: nil)
                }
                continue
            }
            var own = attempt
            own.number = (rider.attempts.last?.number ?? 0) + 1
            let change = try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                try await store.record(own, for: rider.id, movingTo: .sent)
            }
            if let change { await events.publish(.status(change)) }
        }
    }

    private func releaseUnused(_ companions: [Communication], lease: Lease) async throws(StoreError) {
        for companion in companions {
            try await store.release(companion.id, owner: lease.owner, dueAt: nil)
        }
    }

    /// Whether the client wrote to us on WhatsApp within the last 24 hours, so a free-form message may
    /// go out; when the store cannot say, an approved template (allowed at any time) is the safe choice.
    private func replyWindowOpen(for clientID: UUID) async -> Bool {
        guard let last = try? await store.lastInbound(from: clientID, on: .whatsapp) else { return false }
        return now().timeIntervalSince(last) < 24 * 3600
    }

    /// The attachments of a message and of the riders of its digest, in that order; read only for
    /// those that have some, as patiently as attempts are written.
    private func attachments(
        of communications: [Communication], lease: Lease, logger: Logger
    ) async throws(StoreError) -> [(Attachment, AttachmentOrigin)] {
        var files: [(Attachment, AttachmentOrigin)] = []
        for communication in communications where communication.attachmentCount > 0 {
            let stored = try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                try await store.attachments(of: communication.id)
            }
            files += stored.enumerated().map { ($1, AttachmentOrigin(communicationID: communication.id, position: $0)) }
        }
        return files
    }

    /// Writes (or reads) what the send path cannot do without, retrying while the database is unavailable.
    ///
    /// Giving up on a write would leave a sent message looking unsent, and whoever claims it next
    /// would send it again; so it is retried for as long as the lease keeps other sidecars away,
    /// and only then does the error reach the caller.
    private func recordDurably<T>(
        lease: Lease, logger: Logger, _ write: () async throws(StoreError) -> T
    ) async throws(StoreError) -> T {
        var pause = Duration.milliseconds(100)
        while true {
            do {
                return try await write()
            } catch where error.code == .unavailable && now() < lease.expiresAt && !Task.isCancelled {
                logger.warning("cannot reach the store yet; retrying", metadata: ["error": "\(error.message)"])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(2))
            }
        }
    }
}
