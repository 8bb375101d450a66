import Channels
import CRMModel
import Foundation
import Orchestrator
import Testing

/// The delivery machine alone: no store, no providers, no sleeping. A test clock moves to wherever
/// the machine asks to be woken, and scripted answers stand in for the providers, so every delay and
/// every step is exact.
@Suite("The delivery machine decides each next step from the attempts, consent, health and time")
struct DeliveryMachineTests {
    static let start = Date(timeIntervalSince1970: 1_764_072_000)

    // MARK: - Provider answers, as facts

    static let deferred = ProviderError("the SMTP server deferred the message", answer: .smtp(reply: 421), providerCode: "421")
    static let refusedMailbox = ProviderError("mailbox unavailable", answer: .smtp(reply: 550), providerCode: "550")
    static let unreachable = ProviderError("connection refused", answer: .noAnswer)
    static let badCredentials = ProviderError("authentication failed", answer: .smtp(reply: 535), providerCode: "535")
    static let invalidNumber = ProviderError("invalid 'To' number", answer: .http(status: 400), providerCode: "21211")
    static let unsubscribedNumber = ProviderError("unsubscribed recipient", answer: .http(status: 400), providerCode: "21610")
    static let serverError = ProviderError("service unavailable", answer: .http(status: 503))
    static func tooMany(retryAfter: TimeInterval?) -> ProviderError {
        ProviderError("too many requests", answer: .http(status: 429), retryAfter: retryAfter)
    }

    // MARK: - A simulated send loop

    /// One thing that happened: a provider call, or a skipped channel.
    struct Step: Equatable, CustomStringConvertible {
        var at: TimeInterval
        var channel: Channel
        var provider: String?
        var outcome: Attempt.Outcome
        var category: FailureCategory?

        var description: String {
            "\(at)s \(channel.rawValue)/\(provider ?? "-") \(outcome.rawValue)" + (category.map { " \($0.rawValue)" } ?? "")
        }
    }

    /// Runs the machine as `Delivery` and the work queue would: each round is a fresh machine over
    /// the communication as recorded; a retry moves the clock to its due time and starts a new round.
    struct Simulation {
        var communication: Communication
        var rules: DeliveryMachine.Rules
        var now = DeliveryMachineTests.start
        var optedOut: Set<Channel> = []
        var providers: [Channel: [DeliveryMachine.Provider]]
        /// Per provider, its answers in order; nil (or nothing left) accepts the message.
        var script: [String: [ProviderError?]]
        var steps: [Step] = []
        /// Providers that take the message without naming it (a 2xx whose body could not be read).
        var unnamed: Set<String> = []
        /// Called before each step, with the number of provider calls so far: changes consent mid-way.
        var beforeStep: (inout Simulation) -> Void = { _ in }

        init(
            _ channels: [Channel], urgency: Urgency = .critical, messageType: MessageType = .welcome,
            providers: [Channel: [String]] = [.email: ["smtp"], .sms: ["twilio"], .whatsapp: ["whatsapp"]],
            script: [String: [ProviderError?]] = [:], rules: DeliveryMachine.Rules = DeliveryMachine.Rules(jitter: { _ in 1 })
        ) {
            let request = CommunicationRequest(
                planID: UUID(), clientID: UUID(), messageType: messageType, urgency: urgency,
                recipient: Recipient(
                    email: try! EmailAddress(validating: "priya@example.com"), phone: try! PhoneNumber(validating: "+919876543210")
                )
            )
            communication = Communication(
                id: UUID(), request: request,
                decision: Decision(channels: channels, sendAt: DeliveryMachineTests.start, priority: 10, reasons: []),
                status: .queued, createdAt: DeliveryMachineTests.start
            )
            self.providers = providers.mapValues { $0.map { DeliveryMachine.Provider(name: $0) } }
            self.script = script
            self.rules = rules
        }

        var elapsed: TimeInterval { now.timeIntervalSince(DeliveryMachineTests.start) }

        /// Rounds until the machine stops asking to be woken (at most `rounds`); the last action.
        mutating func run(rounds: Int = 20) -> DeliveryMachine.Action {
            for _ in 0..<rounds {
                let action = round()
                guard case .retry(let at, _, _) = action else { return action }
                #expect(at >= now, "a retry is never due in the past")
                now = at
            }
            Issue.record("still retrying after \(rounds) rounds")
            return .done
        }

        /// One claim of the work: steps until the machine hands it back or ends it.
        mutating func round() -> DeliveryMachine.Action {
            var machine = DeliveryMachine(communication, rules: rules)
            defer { communication = machine.communication }
            while true {
                beforeStep(&self)
                let action = machine.next(optedOut: optedOut, providers: providers, at: now)
                switch action {
                case .send(let send):
                    let answer = script[send.provider]?.isEmpty == false ? script[send.provider]!.removeFirst() : nil
                    let result: Result<ProviderReceipt, ProviderError> = answer.map { .failure($0) }
                        ?? .success(ProviderReceipt(providerMessageID: unnamed.contains(send.provider) ? nil : "\(send.provider)-\(send.attempt)"))
                    let outcome = machine.answered(send, with: result, startedAt: now, finishedAt: now)
                    if let status = outcome.movesTo {
                        // As the store would: the move the attempt causes, in the same transaction.
                        machine.apply(StatusChange(
                            communicationID: communication.id, planID: communication.planID, clientID: communication.clientID,
                            status: status, previousStatus: machine.communication.status, channel: send.channel, at: now
                        ))
                    }
                    steps.append(Step(at: elapsed, channel: send.channel, provider: send.provider, outcome: outcome.attempt.outcome, category: outcome.failure))
                    if let reason = outcome.unhealthy {
                        providers[send.channel] = providers[send.channel]?.map {
                            $0.name == send.provider ? DeliveryMachine.Provider(name: $0.name, problem: reason) : $0
                        }
                    }
                case .skip(let attempt):
                    steps.append(Step(at: elapsed, channel: attempt.channel, provider: nil, outcome: .skipped, category: nil))
                case .finish(let status, let reason):
                    machine.apply(StatusChange(
                        communicationID: communication.id, planID: communication.planID, clientID: communication.clientID,
                        status: status, previousStatus: machine.communication.status, error: reason, at: now
                    ))
                    return action
                case .retry, .watch, .stopWatching, .done:
                    return action
                }
            }
        }

        var calls: Int { steps.filter { $0.outcome != .skipped }.count }
    }

    // MARK: - Retries

    @Test("transient twice, then success: 60 s and 300 s apart, exactly without jitter")
    func transientThenSuccess() {
        var simulation = Simulation([.email, .sms], script: ["smtp": [Self.deferred, Self.deferred, nil]])
        #expect(simulation.run() == .done)
        #expect(simulation.steps.map(\.at) == [0, 60, 360])
        #expect(simulation.steps.map(\.category) == [.transient, .transient, nil])
        #expect(simulation.communication.status == .sent && simulation.communication.channelUsed == .email)
    }

    @Test("with jitter, each delay stays within ±10% of the schedule", arguments: 0..<20)
    func jitterBounds(_ seed: Int) {
        var simulation = Simulation(
            [.email], script: ["smtp": [Self.deferred, Self.deferred, nil]], rules: DeliveryMachine.Rules()
        )
        _ = simulation.run()
        let times = simulation.steps.map(\.at)
        #expect(times.count == 3)
        #expect((54...66).contains(times[1]), "first retry at \(times[1]) s")
        #expect((270...330).contains(times[2] - times[1]), "second retry \(times[2] - times[1]) s later")
    }

    @Test("transient three times: the channel is given up for the next one, at once")
    func transientExhausted() {
        var simulation = Simulation([.email, .sms], script: ["smtp": [Self.deferred, Self.deferred, Self.deferred]])
        #expect(simulation.run() == .done)
        #expect(simulation.steps.map(\.channel) == [.email, .email, .email, .sms])
        #expect(simulation.steps.map(\.at) == [0, 60, 360, 360])
    }

    @Test("429 with Retry-After waits as long as asked and does not use up an attempt")
    func rateLimited() {
        var simulation = Simulation([.whatsapp], script: [
            "whatsapp": [Self.tooMany(retryAfter: 30), Self.serverError, Self.tooMany(retryAfter: 45), Self.serverError, nil],
        ])
        #expect(simulation.run() == .done)
        // 30 s as asked; 60 s after the first transient; 45 s as asked; 300 s after the second.
        #expect(simulation.steps.map(\.at) == [0, 30, 90, 135, 435])
        #expect(simulation.steps.map(\.category) == [.rateLimited, .transient, .rateLimited, .transient, nil])
    }

    @Test("429 without Retry-After waits the backoff, doubled, and asks no pause of the provider")
    func rateLimitedWithoutRetryAfter() {
        var machine = DeliveryMachine(Simulation([.sms]).communication, rules: DeliveryMachine.Rules(jitter: { _ in 1 }))
        guard case .send(let send) = machine.next(optedOut: [], providers: [.sms: [.init(name: "twilio")]], at: Self.start) else {
            Issue.record("expected a send")
            return
        }
        let answer = machine.answered(send, with: .failure(Self.tooMany(retryAfter: nil)), startedAt: Self.start, finishedAt: Self.start)
        #expect(answer.failure == .rateLimited && answer.pauseProvider == nil)
        #expect(machine.next(optedOut: [], providers: [.sms: [.init(name: "twilio")]], at: Self.start)
            == .retry(at: Self.start.addingTimeInterval(120), channel: .sms, reason: "twilio asked to slow down"))
    }

    // MARK: - Giving a channel up

    @Test("permanent and invalid-recipient failures fall through to the next channel without a retry")
    func permanentFallsThrough() {
        var invalid = Simulation([.sms, .email], script: ["twilio": [Self.invalidNumber]])
        #expect(invalid.run() == .done)
        #expect(invalid.steps == [
            Step(at: 0, channel: .sms, provider: "twilio", outcome: .failed, category: .invalidRecipient),
            Step(at: 0, channel: .email, provider: "smtp", outcome: .sent),
        ])
        var permanent = Simulation([.email, .sms], script: ["smtp": [Self.refusedMailbox]])
        #expect(permanent.run() == .done)
        #expect(permanent.steps.map(\.category) == [.invalidRecipient, nil] && permanent.communication.channelUsed == .sms)
    }

    @Test("every channel given up: failed, with the reason of each")
    func everyChannelFails() {
        var simulation = Simulation([.sms, .email], script: ["twilio": [Self.unsubscribedNumber], "smtp": [Self.refusedMailbox]])
        guard case .finish(.failed, let reason) = simulation.run() else {
            Issue.record("expected failed")
            return
        }
        #expect(reason.hasPrefix("every channel failed: ") && reason.contains("21610") && reason.contains("550"))
        #expect(simulation.communication.status == .failed)
    }

    @Test("an auth failure marks the provider unhealthy and fails over; later messages skip it")
    func authFailure() {
        var simulation = Simulation(
            [.email, .sms], providers: [.email: ["smtp", "smtp-backup"], .sms: ["twilio"]], script: ["smtp": [Self.badCredentials]]
        )
        #expect(simulation.run() == .done)
        #expect(simulation.steps.map(\.provider) == ["smtp", "smtp-backup"] && simulation.steps.map(\.at) == [0, 0])
        #expect(simulation.steps.first?.category == .auth)
        let health = simulation.providers
        #expect(health[.email]?.first?.problem?.contains("credentials refused") == true)

        var next = Simulation([.email, .sms], providers: [.email: ["smtp", "smtp-backup"], .sms: ["twilio"]])
        next.providers = health
        #expect(next.run() == .done)
        #expect(next.steps.map(\.provider) == ["smtp-backup"])
    }

    @Test("an outage fails over to the channel's next provider at once; both down: backoff, then the next channel")
    func providerFailover() {
        var one = Simulation([.email, .sms], providers: [.email: ["smtp-a", "smtp-b"], .sms: ["twilio"]], script: ["smtp-a": [Self.unreachable]])
        #expect(one.run() == .done)
        #expect(one.steps.map(\.provider) == ["smtp-a", "smtp-b"] && one.steps.map(\.at) == [0, 0])

        let down = Array(repeating: Optional(Self.unreachable), count: 3)
        var both = Simulation(
            [.email, .sms], providers: [.email: ["smtp-a", "smtp-b"], .sms: ["twilio"]], script: ["smtp-a": down, "smtp-b": down]
        )
        #expect(both.run() == .done)
        #expect(both.steps.map(\.provider) == ["smtp-a", "smtp-b", "smtp-a", "smtp-b", "smtp-a", "smtp-b", "twilio"])
        #expect(both.steps.map(\.at) == [0, 0, 60, 60, 360, 360, 360])
    }

    @Test("no provider configured for a channel: the next channel")
    func noProvider() {
        var simulation = Simulation([.whatsapp, .email], providers: [.email: ["smtp"]])
        #expect(simulation.run() == .done)
        #expect(simulation.steps.map(\.channel) == [.email])
    }

    // MARK: - Receipts and silence

    static let silence = [SilenceFallback(urgencies: [.critical], messageTypes: [.reminder], timeout: 600)]

    @Test("silence: no receipt by the deadline sends on the next channel, and watches no further")
    func silenceFallsBack() {
        var simulation = Simulation(
            [.email, .sms], messageType: .reminder, rules: DeliveryMachine.Rules(silenceFallback: Self.silence, jitter: { _ in 1 })
        )
        #expect(simulation.run() == .watch(until: Self.start.addingTimeInterval(600)))
        simulation.now = Self.start.addingTimeInterval(600)
        #expect(simulation.round() == .done)
        #expect(simulation.steps.map(\.channel) == [.email, .sms] && simulation.communication.channelUsed == .sms)
    }

    @Test("a send the provider took without naming it is not watched: no receipt could ever match it")
    func unnamedSendIsNotWatched() {
        var simulation = Simulation(
            [.email, .sms], messageType: .reminder, rules: DeliveryMachine.Rules(silenceFallback: Self.silence, jitter: { _ in 1 })
        )
        simulation.unnamed = ["smtp"]
        #expect(simulation.run() == .done)
        #expect(simulation.steps.map(\.channel) == [.email] && simulation.communication.channelUsed == .email)
    }

    @Test("a receipt in time: claimed again (it should not be), the machine only stops watching")
    func receiptInTime() {
        var simulation = Simulation(
            [.email, .sms], messageType: .reminder, rules: DeliveryMachine.Rules(silenceFallback: Self.silence, jitter: { _ in 1 })
        )
        _ = simulation.run()
        simulation.communication.status = .delivered
        #expect(simulation.round() == .stopWatching)
        // WhatsApp's delivered is not enough: only a read receipt is an answer there.
        var whatsapp = Simulation(
            [.whatsapp, .sms], messageType: .reminder, rules: DeliveryMachine.Rules(silenceFallback: Self.silence, jitter: { _ in 1 })
        )
        _ = whatsapp.run()
        whatsapp.communication.status = .delivered
        #expect(whatsapp.round() == .done && whatsapp.communication.channelUsed == .sms)
    }

    @Test("an undelivered receipt falls back to the next channel; a late one for the old send is history")
    func undeliveredFallsBack() throws {
        var simulation = Simulation([.sms, .email])
        _ = simulation.run()
        let report = DeliveryReport(channel: .sms, providerMessageID: "twilio-1", status: .failed, at: Self.start.addingTimeInterval(5), error: "unreachable handset")
        guard case .fallBack(let attempt) = DeliveryMachine.receipt(report, for: simulation.communication) else {
            Issue.record("expected a fallback")
            return
        }
        #expect(attempt.errorCategory == .permanent && attempt.number == 2 && attempt.error == "not delivered: unreachable handset")
        simulation.communication.attempts.append(attempt)
        simulation.now = Self.start.addingTimeInterval(5)
        #expect(simulation.round() == .done)
        #expect(simulation.communication.channelUsed == .email)
        #expect(simulation.communication.attempts.map(\.outcome) == [.sent, .failed, .sent])

        // The same report again, or any failure of the SMS send, changes nothing now: no second fallback.
        #expect(DeliveryMachine.receipt(report, for: simulation.communication) == .ignore)
        // A delivered receipt for either send is recorded as any receipt is.
        let delivered = DeliveryReport(channel: .sms, providerMessageID: "twilio-1", status: .delivered, at: Self.start)
        #expect(DeliveryMachine.receipt(delivered, for: simulation.communication) == .move)
    }

    @Test("an undelivered receipt with no channel left fails the communication with the provider's word")
    func undeliveredOnLastChannel() {
        var simulation = Simulation([.sms])
        _ = simulation.run()
        let report = DeliveryReport(channel: .sms, providerMessageID: "twilio-1", status: .failed, at: Self.start)
        #expect(DeliveryMachine.receipt(report, for: simulation.communication) == .move)
    }

    // MARK: - Consent at every send

    @Test("opted out before the first attempt: skipped with its reason, the next channel takes over")
    func optOutBeforeFirstAttempt() {
        var simulation = Simulation([.email, .sms])
        simulation.optedOut = [.email]
        #expect(simulation.run() == .done)
        #expect(simulation.steps.map(\.outcome) == [.skipped, .sent] && simulation.communication.channelUsed == .sms)
        let skipped = simulation.communication.attempts[0]
        #expect(skipped.reason == "client opted out of email" && skipped.provider == nil && skipped.number == 1)
        #expect(simulation.communication.attempts[1].number == 2)
    }

    @Test("opted out of every channel: cancelled, with each reason, nothing sent")
    func optOutOfEverything() {
        var simulation = Simulation([.email, .sms, .whatsapp])
        simulation.optedOut = [.email, .sms, .whatsapp]
        #expect(simulation.run() == .finish(
            .cancelled, reason: "client opted out of email; client opted out of sms; client opted out of whatsapp"
        ))
        #expect(simulation.calls == 0 && simulation.communication.status == .cancelled)
    }

    @Test("opted out while a retry is pending: the retry is skipped for the next channel")
    func optOutBeforeRetry() {
        var simulation = Simulation([.email, .sms], script: ["smtp": [Self.deferred]])
        // The opt-out arrives while the work waits in the queue for its retry.
        simulation.beforeStep = { simulation in
            if simulation.elapsed > 0 { simulation.optedOut = [.email] }
        }
        #expect(simulation.run() == .done)
        #expect(simulation.steps.map(\.outcome) == [.failed, .skipped, .sent])
        #expect(simulation.steps.map(\.at) == [0, 60, 60] && simulation.communication.channelUsed == .sms)
    }

    @Test("opted out between providers of one round: the failover does not send either")
    func optOutBeforeFailover() {
        var simulation = Simulation(
            [.email, .sms], providers: [.email: ["smtp-a", "smtp-b"], .sms: ["twilio"]], script: ["smtp-a": [Self.unreachable]]
        )
        simulation.beforeStep = { simulation in
            if simulation.calls == 1 { simulation.optedOut = [.email] }
        }
        #expect(simulation.run() == .done)
        #expect(simulation.steps.map(\.provider) == ["smtp-a", nil, "twilio"])
    }

    @Test("opted out of the fallback channel before silence ends: skipped, the message stays sent")
    func optOutBeforeSilenceFallback() {
        var simulation = Simulation(
            [.email, .sms], messageType: .reminder, rules: DeliveryMachine.Rules(silenceFallback: Self.silence, jitter: { _ in 1 })
        )
        _ = simulation.run()
        simulation.optedOut = [.sms]
        simulation.now = Self.start.addingTimeInterval(600)
        #expect(simulation.round() == .stopWatching)
        #expect(simulation.steps.map(\.outcome) == [.sent, .skipped] && simulation.communication.status == .sent)
    }

    @Test("opted out of the fallback after an undelivered receipt: failed, with the provider's word and the opt-out")
    func optOutBeforeUndeliveredFallback() {
        var simulation = Simulation([.sms, .email])
        _ = simulation.run()
        let report = DeliveryReport(channel: .sms, providerMessageID: "twilio-1", status: .failed, at: Self.start, error: "unreachable handset")
        guard case .fallBack(let attempt) = DeliveryMachine.receipt(report, for: simulation.communication) else {
            Issue.record("expected a fallback")
            return
        }
        simulation.communication.attempts.append(attempt)
        simulation.optedOut = [.email]
        #expect(simulation.round() == .finish(.failed, reason: "sms: not delivered: unreachable handset; client opted out of email"))
    }

    @Test("a channel already given up is not reported as skipped when the client later opts out of it")
    func givenUpIsNotSkipped() {
        var simulation = Simulation([.email, .sms], script: ["smtp": [Self.refusedMailbox], "twilio": [Self.serverError]])
        simulation.beforeStep = { simulation in
            if simulation.elapsed > 0 { simulation.optedOut = [.email] }
        }
        #expect(simulation.run() == .done)
        #expect(simulation.steps.map(\.outcome) == [.failed, .failed, .sent])
        #expect(simulation.steps.map(\.channel) == [.email, .sms, .sms])
    }

    @Test("a channel skipped once stays skipped, even if the client opts back in before a retry")
    func skippedStaysSkipped() {
        var simulation = Simulation([.email, .sms], script: ["twilio": [Self.serverError]])
        simulation.optedOut = [.email]
        simulation.beforeStep = { simulation in
            if simulation.calls == 1 { simulation.optedOut = [] }
        }
        #expect(simulation.run() == .done)
        #expect(simulation.steps.map(\.channel) == [.email, .sms, .sms])
        #expect(simulation.steps.map(\.outcome) == [.skipped, .failed, .sent])
    }

    @Test("a digest takes only riders that would go first on its channel, to its address")
    func digestRiders() {
        let lead = Simulation([.email, .sms], urgency: .low, rules: DeliveryMachine.Rules(digestWindow: 0, jitter: { _ in 1 }))
        var machine = DeliveryMachine(lead.communication, rules: lead.rules)
        guard case .send(let send) = machine.next(optedOut: [.email], providers: lead.providers, at: Self.start) else {
            // Email is opted out: the first step is its skip.
            guard case .send(let send) = machine.next(optedOut: [.email], providers: lead.providers, at: Self.start) else {
                Issue.record("expected a send after the skip")
                return
            }
            #expect(send.channel == .sms && send.digest)
            // A rider that would go by email first (which the client left) is not carried by SMS.
            let emailFirst = Simulation([.email, .sms], urgency: .low).communication
            let smsFirst = Simulation([.sms, .email], urgency: .low).communication
            #expect(!DeliveryMachine.joinsDigest(emailFirst, of: send))
            #expect(DeliveryMachine.joinsDigest(smsFirst, of: send))
            return
        }
        Issue.record("expected the opted-out email to be skipped first, not \(send)")
    }

    // MARK: - Cancel

    @Test("cancel while a retry waits: cancelled; after a provider took it: nothing to do")
    func cancel() {
        var waiting = Simulation([.email], script: ["smtp": [Self.deferred]])
        #expect(waiting.round() == .retry(at: Self.start.addingTimeInterval(60), channel: .email, reason: "every provider of email failed for now"))
        #expect(DeliveryMachine.cancel(waiting.communication) == .finish(.cancelled, reason: "cancelled by request"))

        var sent = Simulation([.email])
        _ = sent.run()
        #expect(DeliveryMachine.cancel(sent.communication) == .done)
    }

    @Test("an ended communication has nothing to do")
    func ended() {
        var simulation = Simulation([.email])
        simulation.communication.status = .cancelled
        #expect(simulation.round() == .done && simulation.calls == 0)
    }
}
