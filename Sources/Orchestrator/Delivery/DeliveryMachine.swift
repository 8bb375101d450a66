package import Channels
package import CRMModel
package import Foundation

/// Decides what happens next to one communication, from what is known about it, without any I/O.
///
/// In the spirit of postgres-nio's `ConnectionStateMachine`: the caller (`Delivery`, `EventIntake`,
/// `Engine.cancel`) performs each `Action` and feeds what came of it back; every rule of the send
/// path (channel order, consent, provider health, retries and their backoff, rate-limit waits,
/// error classes, fallback on failure and on silence, digests) lives here and nowhere else.
///
/// The durable state is the communication itself (its decision, attempts and status); the machine
/// adds only what one claim of the work remembers: which providers this round has called, and
/// whether it has sent or must wait. A round ends by sending, by handing the work back to the queue
/// until a given time, or by ending the communication; a crash mid-round starts a new round when
/// the work is claimed again, which the attempts make safe.
///
/// Consent is an input to every step: `next` is given the client's opt-outs as they are *now*, so an
/// opt-out that arrived after the decision (or after an earlier attempt) is honoured before the next
/// send, whatever kind of send it is.
package struct DeliveryMachine: Sendable {
    /// The policy's rules the machine applies.
    package struct Rules: Sendable {
        package var retry: RetryPolicy
        package var errorClasses: ErrorClasses.Table
        package var silenceFallback: [SilenceFallback]
        /// Low-urgency messages due within this many seconds of each other go out as one digest; nil: never.
        package var digestWindow: TimeInterval?
        /// A factor in the given range (1 ± `retry.jitter`) for each backoff; injected so tests see exact delays.
        package var jitter: @Sendable (ClosedRange<Double>) -> Double

        package init(
            retry: RetryPolicy = RetryPolicy(), errorClasses: ErrorClasses.Table = ErrorClasses.seed,
            silenceFallback: [SilenceFallback] = [], digestWindow: TimeInterval? = nil,
            jitter: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
        ) {
            self.retry = retry
            self.errorClasses = errorClasses
            self.silenceFallback = silenceFallback
            self.digestWindow = digestWindow
            self.jitter = jitter
        }

        /// The rules of `policy`.
        package init(policy: Policy) {
            self.init(
                retry: policy.retry, errorClasses: policy.errorClasses, silenceFallback: policy.silenceFallback,
                digestWindow: policy.digestWindow
            )
        }
    }

    /// One provider of a channel as the machine sees it: its name, and why it is unusable, if it is.
    package struct Provider: Sendable, Equatable {
        package var name: String
        package var problem: String?

        package init(name: String, problem: String? = nil) {
            self.name = name
            self.problem = problem
        }
    }

    /// The communication as the machine knows it: as claimed, with what happened since.
    package private(set) var communication: Communication
    private let rules: Rules
    /// Providers called since the work was claimed, as `channel/provider`: a round calls each once.
    private var called: Set<String> = []
    /// Where this round sent the message, once it has.
    private var sentOn: Channel?
    /// Why and until when the work must wait before the next send, once this round knows.
    private var pause: (until: Date, reason: String, channel: Channel)?

    package init(_ communication: Communication, rules: Rules) {
        self.communication = communication
        self.rules = rules
    }

    // MARK: - What next

    /// What to do next, given the channels the client has opted out of now, the providers of each
    /// channel in the order they are tried, and the time.
    package mutating func next(optedOut: Set<Channel>, providers: [Channel: [Provider]], at now: Date) -> Action {
        if communication.status.isTerminal { return .done }
        if let sentOn { return afterSending(on: sentOn, at: now) }
        if let pause { return .retry(at: pause.until, channel: pause.channel, reason: pause.reason) }

        // Claimed after it was sent: no receipt in time (silence), or the provider reported it
        // undelivered. The channels after the one used get their turn; the others are history.
        var channels = communication.decision.channels
        if !communication.status.awaitsSending {
            guard let used = communication.channelUsed, let index = channels.firstIndex(of: used), fallsBack(from: used) else {
                return .stopWatching
            }
            channels = Array(channels[(index + 1)...])
        }

        var failures: [String] = []
        var skips: [String] = []
        for channel in channels {
            guard let address = communication.recipient.address(for: channel) else { continue }
            let history = communication.attempts.filter { $0.channel == channel }
            if let skipped = history.last(where: { $0.outcome == .skipped }) {
                // Passed over once, passed over for good: a later opt-in does not reopen a channel the
                // message has moved on from.
                skips.append(skipped.reason ?? "\(channel.rawValue) skipped")
                continue
            }
            if let reason = Self.givenUp(channel: history) {
                failures.append("\(channel.rawValue): \(reason)")
                continue
            }
            let candidates = providers[channel] ?? []
            guard !candidates.isEmpty else {
                failures.append("\(channel.rawValue): no provider is configured")
                continue
            }
            var problems: [String] = []
            var usable: [Provider] = []
            for provider in candidates {
                if let problem = provider.problem {
                    problems.append("\(provider.name) is unhealthy (\(problem))")
                } else if let reason = givenUp(provider: provider.name, history: history) {
                    problems.append("\(provider.name): \(reason)")
                } else {
                    usable.append(provider)
                }
            }
            if usable.isEmpty {
                failures.append("\(channel.rawValue): " + problems.joined(separator: "; "))
                continue
            }
            // Only a channel that would otherwise be tried is skipped, so a failure keeps its reason.
            if optedOut.contains(channel) {
                let attempt = Attempt.skipped(
                    number: nextAttemptNumber, channel: channel, at: now, reason: "client opted out of \(channel.rawValue)"
                )
                communication.attempts.append(attempt)
                return .skip(attempt)
            }
            // Each usable provider once a round: an outage of one fails over to the next at once.
            if let provider = usable.first(where: { !called.contains(Self.key(channel, $0.name)) }) {
                return .send(Send(
                    channel: channel, provider: provider.name, address: address, attempt: nextAttemptNumber,
                    language: communication.decision.language ?? "en", digest: takesRiders
                ))
            }
            // Every usable provider failed this round, none for good: the channel is retried after a backoff.
            let failed = usable.map { Self.transientFailures(of: $0.name, in: history) }.max() ?? 1
            let at = now.addingTimeInterval(backoff(rules.retry.delay(afterFailure: max(1, failed))))
            return .retry(at: at, channel: channel, reason: "every provider of \(channel.rawValue) failed for now")
        }

        if !communication.status.awaitsSending {
            // It was sent; failing to fall back does not undo that, unless the provider said it never arrived.
            guard let used = communication.channelUsed, let undelivered = undeliveredReport(on: used) else {
                return .stopWatching
            }
            return .finish(.failed, reason: ([undelivered] + skips + failures).joined(separator: "; "))
        }
        if failures.isEmpty, !skips.isEmpty {
            return .finish(.cancelled, reason: skips.joined(separator: "; "))
        }
        let reasons = failures + skips
        return .finish(.failed, reason: reasons.isEmpty ? "no channel could be tried" : "every channel failed: " + reasons.joined(separator: "; "))
    }

    /// Sent this round: watch for a receipt while the policy wants one and a channel is left to fall back to.
    private func afterSending(on channel: Channel, at now: Date) -> Action {
        let rule = rules.silenceFallback.first {
            $0.urgencies.contains(communication.urgency) && ($0.messageTypes?.contains(communication.messageType) ?? true)
        }
        let channels = communication.decision.channels
        guard let rule, let index = channels.firstIndex(of: channel), index + 1 < channels.count else { return .done }
        // A provider that took the message without naming it (a 2xx whose body could not be read)
        // sends no receipt we can match: silence would say nothing, and the fallback would only
        // deliver the message a second time.
        guard communication.attempts.last(where: { $0.outcome == .sent && $0.channel == channel })?.providerMessageID != nil else {
            return .done
        }
        return .watch(until: now.addingTimeInterval(rule.timeout))
    }

    /// Whether a message sent on `used` may still go out on a later channel: it was not confirmed
    /// (for WhatsApp, not read), or its provider reported it undelivered.
    private func fallsBack(from used: Channel) -> Bool {
        communication.status == .sent || (communication.status == .delivered && used == .whatsapp)
    }

    /// The error of a report that the message sent on `channel` was not delivered, when one came after the send.
    private func undeliveredReport(on channel: Channel) -> String? {
        guard let sent = communication.attempts.lastIndex(where: { $0.outcome == .sent && $0.channel == channel }) else { return nil }
        return communication.attempts[(sent + 1)...].last { $0.channel == channel && $0.outcome == .failed }
            .map { "\(channel.rawValue): \($0.error ?? "not delivered")" }
    }

    // MARK: - Events

    /// A provider answered `send`: the attempt to record (with the status it moves the communication
    /// to) and what the answer means beyond the record. The policy's table, not the provider, has
    /// the last word on what an error code means.
    package mutating func answered(
        _ send: Send, with result: Result<ProviderReceipt, ProviderError>, startedAt: Date, finishedAt: Date,
        missingVariables: [String]? = nil
    ) -> Answer {
        called.insert(Self.key(send.channel, send.provider))
        let latency = max(0, Int((finishedAt.timeIntervalSince(startedAt) * 1000).rounded()))
        switch result {
        case .success(let receipt):
            let attempt = Attempt(
                number: send.attempt, channel: send.channel, provider: send.provider, startedAt: startedAt,
                latencyMilliseconds: latency, outcome: .sent, providerMessageID: receipt.providerMessageID, missingVariables: missingVariables
            )
            // The status moves when the store says it did (`apply`): a cancel may have won the race.
            communication.attempts.append(attempt)
            sentOn = send.channel
            let first = communication.decision.channels.first
            return Answer(attempt: attempt, movesTo: .sent, fellBackFrom: first != send.channel ? first : nil)
        case .failure(let error):
            let category = ErrorClasses.category(of: error, from: send.provider, in: rules.errorClasses)
            let attempt = Attempt(
                number: send.attempt, channel: send.channel, provider: send.provider, startedAt: startedAt,
                latencyMilliseconds: latency, outcome: .failed, errorCategory: category,
                error: "\(category.rawValue): \(error.description)",
                missingVariables: missingVariables
            )
            let history = communication.attempts.filter { $0.channel == send.channel }
            communication.attempts.append(attempt)
            var answer = Answer(attempt: attempt, movesTo: nil, failure: category)
            switch category {
            case .rateLimited:
                // The provider's own Retry-After when it gave one; otherwise the backoff, doubled.
                // Waiting on a rate limit does not use up an attempt.
                let failed = Self.transientFailures(of: send.provider, in: history)
                let wait = error.retryAfter ?? backoff(rules.retry.delay(afterFailure: failed + 1) * rules.retry.rateLimitMultiplier)
                pause = (finishedAt.addingTimeInterval(wait), "\(send.provider) asked to slow down", send.channel)
                if let asked = error.retryAfter { answer.pauseProvider = asked }
            case .auth:
                answer.unhealthy = "credentials refused: \(error.message)"
            case .transient, .permanent, .invalidRecipient:
                break
            }
            return answer
        }
    }

    /// A status change the store made for this communication (the move an attempt caused, or an end).
    package mutating func apply(_ change: StatusChange) {
        communication.apply(change)
    }

    /// A provider's report on a message it accepted for `communication`: what to make of it. Needs
    /// no rules and no round, so no machine: the side port asks it of the record as it stands.
    package static func receipt(_ report: DeliveryReport, for communication: Communication) -> Receipt {
        guard report.status == .failed || report.status == .bounced else { return .move }
        // The failure of a send already fallen back from is history; its attempt says so.
        guard let sent = communication.attempts.last(where: { $0.outcome == .sent }), sent.providerMessageID == report.providerMessageID
        else { return .ignore }
        guard communication.status == .sent, communication.channelUsed == report.channel,
            let index = communication.decision.channels.firstIndex(of: report.channel),
            communication.decision.channels[(index + 1)...].contains(where: { communication.recipient.address(for: $0) != nil })
        else { return .move }
        // Kept as a failed attempt that gives the channel up, as a refusal at send time would; the
        // work is due again at once and the next claim falls back.
        return .fallBack(Attempt(
            number: (communication.attempts.last?.number ?? 0) + 1, channel: report.channel, provider: sent.provider, startedAt: report.at,
            latencyMilliseconds: 0, outcome: .failed, providerMessageID: report.providerMessageID, errorCategory: .permanent,
            error: "not delivered: " + (report.error ?? "the provider reported a failure")
        ))
    }

    /// The workflow asked to cancel `communication`: it ends, unless a provider has already taken it.
    package static func cancel(_ communication: Communication, reason: String = "cancelled by request") -> Action {
        guard communication.status.awaitsSending else { return .done }
        return .finish(.cancelled, reason: reason)
    }

    /// Whether `candidate` (another low-urgency message of the same client, due within the digest
    /// window) goes out in the digest of `send`: it would have gone first on the same channel to the
    /// same address. The others are handed back to the queue to go on their own.
    package static func joinsDigest(_ candidate: Communication, of send: Send) -> Bool {
        candidate.status.awaitsSending && candidate.decision.channels.first == send.channel
            && candidate.recipient.address(for: send.channel) == send.address
    }

    // MARK: - Rules over the attempts

    private var nextAttemptNumber: Int { (communication.attempts.last?.number ?? 0) + 1 }

    private var takesRiders: Bool {
        rules.digestWindow != nil && communication.urgency == .low && communication.status.awaitsSending
    }

    /// Why a channel is not tried again: a permanent failure on any of its providers (the address,
    /// not the provider, is the problem); nil while it may be.
    private static func givenUp(channel history: [Attempt]) -> String? {
        history.last { $0.errorCategory?.givesUpChannel == true }.map { $0.error ?? "given up" }
    }

    /// Why one provider is not tried again for this communication; nil while it may be.
    private func givenUp(provider: String, history: [Attempt]) -> String? {
        let own = history.filter { $0.provider == provider }
        guard let last = own.last, last.outcome == .failed else { return nil }
        if last.errorCategory == .auth { return last.error ?? "credentials refused" }
        let failed = Self.transientFailures(of: provider, in: history)
        if failed >= rules.retry.attemptsPerChannel {
            return "\(rules.retry.attemptsPerChannel) attempts failed; last: \(last.error ?? "unknown")"
        }
        return nil
    }

    private static func transientFailures(of provider: String, in history: [Attempt]) -> Int {
        history.filter { $0.provider == provider && $0.errorCategory == .transient }.count
    }

    private func backoff(_ seconds: TimeInterval) -> TimeInterval {
        (seconds * rules.jitter((1 - rules.retry.jitter)...(1 + rules.retry.jitter)) * 1000).rounded() / 1000
    }

    private static func key(_ channel: Channel, _ provider: String) -> String {
        "\(channel.rawValue)/\(provider)"
    }
}
