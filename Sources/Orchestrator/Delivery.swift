package import Channels
package import CRMModel
package import Foundation
package import Logging
package import Persistence

/// Takes a stored communication through its channels until a provider accepts it.
///
/// The caller holds the communication's lease (it inserted or claimed it). Each channel is tried in
/// the decision's order; every attempt, accepted or not, is recorded in the same transaction as the
/// status change it causes, and each change is published. What a failure leads to depends on its
/// category: a transient one is retried on the same channel after a backoff (the work goes back to
/// the queue, due then), a rate limit waits as long as the provider asks without using up an attempt,
/// a permanent or invalid-recipient one moves on to the next channel, an auth failure also marks the
/// provider unhealthy. When every channel has been given up, the communication is `failed` with the
/// reason of each. A later call (the work claimed again) resumes where the attempts left off.
package struct Delivery: Sendable {
    package var store: any Store
    package var providers: ProviderRegistry
    package var renderer: TemplateRenderer
    package var events: any EngineEventSink
    package var leasing: WorkLeasing
    package var retry: RetryPolicy
    package var health: ProviderHealth
    package var rateLimiter: RateLimiter
    package var silenceFallback: [SilenceFallback]
    package var errorClasses: ErrorClasses.Table
    /// Low-urgency digests: other low-urgency messages to the same client due within this many
    /// seconds go out in one message with the one being sent; nil turns digests off.
    package var digestWindow: TimeInterval?
    package var now: @Sendable () -> Date
    /// A factor in 1 ± `retry.jitter` for each backoff; injected so tests can see exact delays.
    package var jitter: @Sendable (ClosedRange<Double>) -> Double
    package var metrics = DeliveryMetrics()
    package var logger: Logger

    package init(
        store: any Store, providers: ProviderRegistry, renderer: TemplateRenderer, events: any EngineEventSink,
        leasing: WorkLeasing, retry: RetryPolicy = RetryPolicy(), health: ProviderHealth = ProviderHealth(),
        rateLimiter: RateLimiter = RateLimiter(), silenceFallback: [SilenceFallback] = [],
        errorClasses: ErrorClasses.Table = ErrorClasses.seed, digestWindow: TimeInterval? = nil,
        now: @escaping @Sendable () -> Date,
        jitter: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) },
        logger: Logger
    ) {
        self.store = store
        self.providers = providers
        self.renderer = renderer
        self.events = events
        self.leasing = leasing
        self.retry = retry
        self.health = health
        self.rateLimiter = rateLimiter
        self.silenceFallback = silenceFallback
        self.errorClasses = errorClasses
        self.digestWindow = digestWindow
        self.now = now
        self.jitter = jitter
        self.logger = logger
    }

    /// Sends `communication` under `lease`; returns it as it stands once it is sent, has failed on
    /// every channel, or the lease was lost to another sidecar.
    ///
    /// `companions` are low-urgency messages for the same client claimed together with it, already
    /// held under `lease`: they join its digest (or are handed back to the queue if they do not fit).
    package func deliver(
        _ communication: Communication, lease: Lease, companions: [Communication] = []
    ) async throws(StoreError) -> Communication {
        var unused = companions
        let result = try await deliver(communication, lease: lease, companions: &unused)
        // Companions that never joined a digest (no channel was tried) go back to the queue now
        // rather than when the lease runs out.
        for companion in unused {
            try await store.release(companion.id, owner: lease.owner, dueAt: nil)
        }
        return result
    }

    private func deliver(
        _ communication: Communication, lease: Lease, companions: inout [Communication]
    ) async throws(StoreError) -> Communication {
        var communication = communication
        var lease = lease
        var logger = logger
        logger[metadataKey: "communication.id"] = "\(communication.id.uuidString.lowercased())"
        var failures: [String] = []
        var channels = communication.decision.channels

        // Claimed after it was sent: no receipt came in time (fallback on silence); the channels
        // after the one used get their turn.
        if !communication.status.awaitsSending {
            guard let used = communication.channelUsed, let index = channels.firstIndex(of: used), index + 1 < channels.count,
                communication.status == .sent || (communication.status == .delivered && used == .whatsapp)
            else {
                try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                    try await store.watchForReceipt(communication.id, until: nil)
                }
                return communication
            }
            logger.notice("no receipt in time; falling back to the next channel", metadata: ["channel": "\(used.rawValue)"])
            channels = Array(channels[(index + 1)...])
        }

        // Templates in the language decided with the channels, English when there is none in it.
        let language = communication.decision.language ?? "en"

        for channel in channels {
            guard let address = communication.recipient.address(for: channel) else { continue }
            let candidates = providers.providers(for: channel)
            guard !candidates.isEmpty else {
                failures.append("\(channel.rawValue): no provider is configured")
                continue
            }
            if let reason = channelGivenUp(communication.attempts.filter { $0.channel == channel }) {
                failures.append("\(channel.rawValue): \(reason)")
                continue
            }
            // Each provider of the channel in turn: an outage of one fails over to the next at once.
            var channelProblems: [String] = []
            var permanentFailure = false
            for provider in candidates {
                let history = communication.attempts.filter { $0.channel == channel && $0.provider == provider.name }
                if let problem = health.problem(of: provider.name) {
                    channelProblems.append("\(provider.name) is unhealthy (\(problem))")
                    continue
                }
                if let reason = providerGivenUp(history) {
                    channelProblems.append("\(provider.name): \(reason)")
                    continue
                }
                // The claim (or insert) made the lease fresh for the first attempt; a later one extends
                // it, and stops if another sidecar took the work over meanwhile.
                if !communication.attempts.isEmpty {
                    lease = leasing.lease(from: now())
                    guard try await store.renew(communication.id, lease: lease) else {
                        logger.warning("lost the lease on this communication; another sidecar carries on with it")
                        return communication
                    }
                }
                // Waits its turn under the provider's rate limit rather than failing; only shutdown ends the wait.
                do { try await rateLimiter.acquire(provider.name) } catch { return communication }
                let riders = try await digestRiders(for: communication, with: &companions, on: channel, to: address, lease: lease)
                let files = channel == .email ? try await attachments(of: [communication] + riders, lease: lease) : []
                let (attempt, failure) = await send(
                    communication, riders: riders, on: channel, to: address, through: provider, language: language, attachments: files
                )
                try await settle(riders, after: attempt, lease: lease)
                let change = try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                    try await store.record(attempt, for: communication.id, movingTo: attempt.outcome == .sent ? .sent : nil)
                }
                communication.attempts.append(attempt)
                if let change {
                    communication.apply(change)
                    await events.publish(.status(change))
                }
                guard let failure else {
                    logger.info("message sent", metadata: ["channel": "\(channel.rawValue)", "provider": "\(provider.name)"])
                    if let first = communication.decision.channels.first, first != channel {
                        metrics.fallback(from: first, to: channel)
                    }
                    try await watchForReceipt(communication, after: channel, lease: lease)
                    return communication
                }
                let metadata: Logger.Metadata = [
                    "channel": "\(channel.rawValue)", "provider": "\(provider.name)", "attempt": "\(attempt.number)",
                    "error": "\(failure.description)",
                ]
                channelProblems.append("\(provider.name): \(failure.description)")
                metrics.apiError(api: provider.name, errorType: failure.category.rawValue)
                switch failure.category {
                case .rateLimited:
                    // The provider's own Retry-After when it gave one; otherwise the backoff, doubled.
                    let failed = Self.transientFailures(history)
                    let wait = failure.retryAfter ?? backoff(retry.delay(afterFailure: failed + 1) * retry.rateLimitMultiplier)
                    if let asked = failure.retryAfter { rateLimiter.pause(provider.name, for: asked) }
                    logger.warning("provider asked to slow down; waiting", metadata: metadata.merging(["retry_in_s": "\(wait)"]) { $1 })
                    metrics.retry(on: channel)
                    return try await retryLater(communication, lease: lease, after: wait)
                case .auth:
                    health.markUnhealthy(provider.name, reason: "credentials refused: \(failure.message)")
                    logger.critical("provider refused our credentials; it is unhealthy until they are fixed", metadata: metadata)
                case .transient:
                    logger.warning("provider failed for now; trying the channel's next provider, if any", metadata: metadata)
                case .permanent, .invalidRecipient:
                    logger.warning("giving up this channel; trying the next", metadata: metadata)
                    permanentFailure = true
                }
                if permanentFailure { break }
            }
            // Every provider failed this round. While one of them has attempts left, the channel is
            // retried after a backoff (the work goes back to the queue); otherwise the next channel.
            let remaining = candidates.filter { provider in
                health.problem(of: provider.name) == nil
                    && providerGivenUp(communication.attempts.filter { $0.channel == channel && $0.provider == provider.name }) == nil
            }
            if !permanentFailure, !remaining.isEmpty {
                let failed = remaining.map { provider in
                    Self.transientFailures(communication.attempts.filter { $0.channel == channel && $0.provider == provider.name })
                }.max() ?? 1
                let wait = backoff(retry.delay(afterFailure: max(1, failed)))
                logger.warning("retrying this channel later", metadata: ["channel": "\(channel.rawValue)", "retry_in_s": "\(wait)"])
                metrics.retry(on: channel)
                return try await retryLater(communication, lease: lease, after: wait)
            }
            failures.append("\(channel.rawValue): " + channelProblems.joined(separator: "; "))
        }

        if !communication.status.awaitsSending {
            // The first channel did send it; failing to fall back does not undo that.
            logger.warning("no fallback channel took the message; it stays sent", metadata: ["failures": "\(failures.joined(separator: "; "))"])
            try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                try await store.watchForReceipt(communication.id, until: nil)
            }
            return communication
        }
        let detail = failures.isEmpty ? "no channel could be tried" : "every channel failed: " + failures.joined(separator: "; ")
        let failedAt = now()
        let change = try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
            try await store.move(communication.id, to: .failed, channel: nil, detail: detail, at: failedAt)
        }
        if let change {
            communication.apply(change, detail: detail)
            await events.publish(.status(change))
        }
        logger.error("communication failed on every channel", metadata: ["attempts": "\(communication.attempts.count)"])
        return communication
    }

    /// Why a channel is not tried again, from its attempts so far: a permanent failure on any of its
    /// providers (the address, not the provider, is the problem); nil while it may be.
    private func channelGivenUp(_ history: [Attempt]) -> String? {
        history.last { $0.errorCategory?.givesUpChannel == true }.map { $0.error ?? "given up" }
    }

    /// Why one provider is not tried again for this communication; nil while it may be.
    private func providerGivenUp(_ history: [Attempt]) -> String? {
        guard let last = history.last, last.outcome == .failed else { return nil }
        if last.errorCategory == .auth { return last.error ?? "credentials refused" }
        if Self.transientFailures(history) >= retry.attemptsPerChannel {
            return "\(retry.attemptsPerChannel) attempts failed; last: \(last.error ?? "unknown")"
        }
        return nil
    }

    private static func transientFailures(_ history: [Attempt]) -> Int {
        history.filter { $0.errorCategory == .transient }.count
    }

    /// Other low-urgency messages for the same address on this channel, due within the digest
    /// window and now held under `lease`, to go out in one message with `communication`.
    private func digestRiders(
        for communication: Communication, with companions: inout [Communication], on channel: Channel, to address: String,
        lease: Lease
    ) async throws(StoreError) -> [Communication] {
        guard let window = digestWindow, communication.urgency == .low, communication.status.awaitsSending else {
            return []
        }
        defer { companions = [] }
        let claimed = try await companions + store.claimLowUrgency(
            of: communication.clientID, besides: communication.id, dueBy: now().addingTimeInterval(window), for: lease, limit: 20
        )
        var riders: [Communication] = []
        for candidate in claimed {
            if candidate.decision.channels.first == channel, candidate.recipient.address(for: channel) == address {
                riders.append(candidate)
            } else {
                try await store.release(candidate.id, owner: lease.owner, dueAt: nil)
            }
        }
        return riders
    }

    /// The riders of a digest share its outcome: sent, each with its own attempt under the digest's
    /// provider message id (which links them), or handed back to the queue to go another time.
    private func settle(_ riders: [Communication], after attempt: Attempt, lease: Lease) async throws(StoreError) {
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

    /// One call to `provider` (for `communication` and the riders of its digest, if any), as the
    /// attempt to record, and the failure when it failed.
    private func send(
        _ communication: Communication, riders: [Communication], on channel: Channel, to address: String,
        through provider: any ChannelProvider, language: String, attachments: [Attachment]
    ) async -> (Attempt, ProviderError?) {
        let number = (communication.attempts.last?.number ?? 0) + 1
        let parts = ([communication] + riders).map {
            renderer.render($0.messageType, for: channel, context: $0.context, language: language)
        }
        let content = RenderedMessage.digest(parts)
        let message = OutboundMessage(
            communicationID: communication.id,
            attempt: number,
            messageType: communication.messageType,
            channel: channel,
            to: address,
            content: content,
            recipientName: communication.recipient.name,
            attachments: attachments,
            language: language,
            replyWindowOpen: channel == .whatsapp ? await replyWindowOpen(for: communication.clientID) : false,
            context: communication.context
        )
        let missing = content.missingVariables.isEmpty ? nil : content.missingVariables
        let started = now()
        do {
            let receipt = try await provider.send(message)
            return (Attempt(
                number: number, channel: channel, provider: provider.name, startedAt: started,
                latencyMilliseconds: Self.milliseconds(since: started, now: now()), outcome: .sent,
                providerMessageID: receipt.providerMessageID, missingVariables: missing
            ), nil)
        } catch {
            // The policy's table, not the provider, has the last word on what a code means.
            var classified = error
            classified.category = ErrorClasses.category(of: error, from: provider.name, in: errorClasses)
            return (Attempt(
                number: number, channel: channel, provider: provider.name, startedAt: started,
                latencyMilliseconds: Self.milliseconds(since: started, now: now()), outcome: .failed,
                errorCategory: classified.category, error: classified.description, missingVariables: missing
            ), classified)
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
    private func attachments(of communications: [Communication], lease: Lease) async throws(StoreError) -> [Attachment] {
        var files: [Attachment] = []
        for communication in communications where communication.attachmentCount > 0 {
            files += try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                try await store.attachments(of: communication.id)
            }
        }
        return files
    }

    private func backoff(_ seconds: TimeInterval) -> TimeInterval {
        (seconds * jitter((1 - retry.jitter)...(1 + retry.jitter)) * 1000).rounded() / 1000
    }

    /// When the policy wants a receipt for this kind of message and a channel is left to fall back
    /// to, the communication comes due again at the deadline unless a receipt arrives first.
    private func watchForReceipt(_ communication: Communication, after channel: Channel, lease: Lease) async throws(StoreError) {
        let rule = silenceFallback.first {
            $0.urgencies.contains(communication.urgency) && ($0.messageTypes?.contains(communication.messageType) ?? true)
        }
        let channels = communication.decision.channels
        guard let rule, let index = channels.firstIndex(of: channel), index + 1 < channels.count else { return }
        let deadline = now().addingTimeInterval(rule.timeout)
        try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
            try await store.watchForReceipt(communication.id, until: deadline)
        }
    }

    /// Hands the work back to the queue, due after `seconds`; any sidecar may take the retry.
    private func retryLater(_ communication: Communication, lease: Lease, after seconds: TimeInterval) async throws(StoreError) -> Communication {
        let due = now().addingTimeInterval(seconds)
        try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
            try await store.release(communication.id, owner: lease.owner, dueAt: due)
        }
        return communication
    }

    /// Writes what already happened at a provider, retrying while the database is unavailable.
    ///
    /// Giving up would leave a sent message looking unsent, and whoever claims it next would send it
    /// again; so the write is retried for as long as the lease keeps other sidecars away, and only
    /// then does the error reach the caller.
    private func recordDurably<T>(
        lease: Lease, logger: Logger, _ write: () async throws(StoreError) -> T
    ) async throws(StoreError) -> T {
        var pause = Duration.milliseconds(100)
        while true {
            do {
                return try await write()
            } catch where error.code == .unavailable && now() < lease.expiresAt && !Task.isCancelled {
                logger.warning("cannot record an attempt yet; retrying", metadata: ["error": "\(error.message)"])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(2))
            }
        }
    }

    private static func milliseconds(since start: Date, now: Date) -> Int {
        max(0, Int((now.timeIntervalSince(start) * 1000).rounded()))
    }
}
