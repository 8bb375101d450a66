import Channels
import CRMModel
import Foundation
import Logging
import Orchestrator
import Persistence
import Synchronization
import Testing

/// The delivery loop against a real (SQLite) store: that it performs what the machine decides
/// (`DeliveryMachineTests` holds the decisions themselves) and records it as the work queue needs:
/// retries due exactly when the machine said, skips and failures as attempts, consent read at the
/// moment of each send.
@Suite("Delivery performs the machine's steps on a real store")
struct DeliveryTests {
    /// A provider that answers from a script, one entry a call; `nil` accepts the message.
    final class ScriptedProvider: ChannelProvider, Sendable {
        let channel: Channel
        let name: String
        private let script: Mutex<[ProviderError?]>
        let calls = Mutex(0)

        init(_ channel: Channel, name: String? = nil, _ script: [ProviderError?] = []) {
            self.channel = channel
            self.name = name ?? "scripted-\(channel.rawValue)"
            self.script = Mutex(script)
        }

        func send(_ message: OutboundMessage) async throws(ProviderError) -> ProviderReceipt {
            calls.withLock { $0 += 1 }
            let next = script.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            if let next { throw next }
            return ProviderReceipt(providerMessageID: "\(name)-\(message.attempt)")
        }
    }

    final class Clock: Sendable {
        let time = Mutex(Date(timeIntervalSince1970: 1_764_072_000))
        var now: Date { time.withLock { $0 } }
        func advance(to date: Date) { time.withLock { $0 = date } }
    }

    final class Events: EngineEventSink {
        let published = Mutex<[EngineEvent]>([])
        func publish(_ event: EngineEvent) async { published.withLock { $0.append(event) } }
    }

    static let deferred = ProviderError("the SMTP server deferred the message", answer: .smtp(reply: 421), providerCode: "421")
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    let clock = Clock()
    let leasing = WorkLeasing(owner: "test", duration: .seconds(30))
    let events = Events()
    let store: SQLiteStore

    init() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-delivery-\(UUID().uuidString).sqlite").path
        let cipher = FieldCipher(master: try MasterKey(secret: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="))
        store = try SQLiteStore(path: path, cipher: cipher, logger: Self.quiet)
    }

    func delivery(
        _ providers: [any ChannelProvider], health: ProviderHealth = ProviderHealth(), silence: [SilenceFallback] = []
    ) -> Delivery {
        let clock = self.clock
        return Delivery(
            store: store, providers: ProviderRegistry(providers), renderer: try! TemplateRenderer(), events: events,
            leasing: leasing, health: health, consent: ConsentCache(store: store, freshness: 0),
            rules: DeliveryMachine.Rules(silenceFallback: silence, jitter: { _ in 1 }), now: { clock.now }, logger: Self.quiet
        )
    }

    /// A communication for `channels`, stored as `communicate` stores one due now (held by us).
    func stored(_ channels: [Channel], messageType: MessageType = .welcome) async throws -> Communication {
        let request = CommunicationRequest(
            planID: UUID(), clientID: UUID(), messageType: messageType, urgency: .critical,
            recipient: Recipient(email: try EmailAddress(validating: "priya@example.com"), phone: try PhoneNumber(validating: "+919876543210"))
        )
        let communication = Communication(
            id: UUID(), request: request, decision: Decision(channels: channels, sendAt: clock.now, priority: 10, reasons: []),
            status: .queued, createdAt: clock.now
        )
        try await store.insert(communication, leasedTo: leasing.lease(from: clock.now))
        return communication
    }

    /// Claims the work `seconds` after `start`, as the send loop would then.
    func claim(after seconds: TimeInterval, from start: Date) async throws -> Communication? {
        let at = start.addingTimeInterval(seconds)
        clock.advance(to: at)
        return try await store.claimDue(by: at, for: leasing.lease(from: at), limit: 1).first
    }

    @Test("a retry is due exactly when the machine said, not a moment before; each attempt is recorded")
    func retryDueTime() async throws {
        let start = clock.now
        let flaky = ScriptedProvider(.email, [Self.deferred, nil])
        let delivery = delivery([flaky, ScriptedProvider(.sms)])
        let first = try await delivery.deliver(try await stored([.email, .sms]), lease: leasing.lease(from: start))
        #expect(first.status == .queued && first.attempts.map(\.errorCategory) == [.transient])
        #expect(try await claim(after: 59.999, from: start) == nil)
        let due = try #require(try await claim(after: 60, from: start))
        let sent = try await delivery.deliver(due, lease: leasing.lease(from: clock.now))
        #expect(sent.status == .sent)
        let stored = try #require(try await store.communication(id: sent.id))
        #expect(stored.attempts.map(\.startedAt) == [start, start.addingTimeInterval(60)])
        #expect(stored.attempts.map(\.outcome) == [.failed, .sent] && stored.channelUsed == .email)
    }

    @Test("consent is read when the retry comes due: an opt-out saved meanwhile skips the channel")
    func optOutBeforeRetry() async throws {
        let start = clock.now
        let email = ScriptedProvider(.email, [Self.deferred])
        let sms = ScriptedProvider(.sms)
        let delivery = delivery([email, sms])
        let communication = try await stored([.email, .sms])
        _ = try await delivery.deliver(communication, lease: leasing.lease(from: start))
        var preferences = ClientPreferences(clientID: communication.clientID, optOutEmail: true)
        preferences.updatedAt = start.addingTimeInterval(10)
        try await store.save(preferences)

        let due = try #require(try await claim(after: 60, from: start))
        let result = try await delivery.deliver(due, lease: leasing.lease(from: clock.now))
        #expect(result.channelUsed == .sms && email.calls.withLock { $0 } == 1)
        let stored = try #require(try await store.communication(id: communication.id))
        #expect(stored.attempts.map(\.outcome) == [.failed, .skipped, .sent])
        #expect(stored.attempts[1].reason == "client opted out of email" && stored.attempts[1].provider == nil)
    }

    @Test("opted out of every channel: cancelled with the reason, announced, and out of the queue")
    func optedOutOfEverything() async throws {
        let start = clock.now
        let communication = try await stored([.email, .sms])
        var preferences = ClientPreferences(clientID: communication.clientID, optOutEmail: true, optOutSMS: true)
        preferences.updatedAt = start
        try await store.save(preferences)
        let email = ScriptedProvider(.email)
        let result = try await delivery([email, ScriptedProvider(.sms)]).deliver(communication, lease: leasing.lease(from: start))
        #expect(result.status == .cancelled && email.calls.withLock { $0 } == 0)
        let stored = try #require(try await store.communication(id: communication.id))
        #expect(stored.status == .cancelled && stored.attempts.map(\.outcome) == [.skipped, .skipped])
        #expect(stored.events.last?.detail == "client opted out of email; client opted out of sms")
        let announced = events.published.withLock { $0 }.compactMap { event -> StatusChange? in
            if case .status(let change) = event { return change }
            return nil
        }
        #expect(announced.last?.status == .cancelled && announced.last?.error?.contains("opted out") == true)
        #expect(try await claim(after: 86_400, from: start) == nil)
    }

    @Test("an auth failure marks the provider unhealthy for later messages")
    func authMarksUnhealthy() async throws {
        let health = ProviderHealth()
        let locked = ScriptedProvider(.email, name: "smtp", [ProviderError("authentication failed", answer: .smtp(reply: 535), providerCode: "535")])
        let delivery = delivery([locked, ScriptedProvider(.sms)], health: health)
        let first = try await delivery.deliver(try await stored([.email, .sms]), lease: leasing.lease(from: clock.now))
        #expect(first.channelUsed == .sms && first.attempts.map(\.errorCategory) == [.auth, nil])
        #expect(health.problem(of: "smtp")?.contains("authentication failed") == true)
        let second = try await delivery.deliver(try await stored([.email, .sms]), lease: leasing.lease(from: clock.now))
        #expect(second.attempts.map(\.channel) == [.sms] && locked.calls.withLock { $0 } == 1)
    }

    @Test("the policy's table decides what a provider's code means")
    func errorClasses() async throws {
        // Twilio's 21211 ("invalid 'To' number") is an invalid recipient whatever the HTTP status
        // suggests: no retry, straight to the next channel.
        let twilio = ScriptedProvider(.sms, name: "twilio", [ProviderError("invalid To", answer: .http(status: 400), providerCode: "21211")])
        let result = try await delivery([twilio, ScriptedProvider(.email)]).deliver(try await stored([.sms, .email]), lease: leasing.lease(from: clock.now))
        #expect(result.channelUsed == .email && result.attempts.map(\.errorCategory) == [.invalidRecipient, nil])
    }

    // MARK: - Fallback on silence

    @Test("no delivered receipt within the timeout: sent again on the next channel, and no further")
    func silenceFallsBack() async throws {
        let start = clock.now
        let delivery = delivery(
            [ScriptedProvider(.email), ScriptedProvider(.sms)],
            silence: [SilenceFallback(urgencies: [.critical], messageTypes: [.reminder], timeout: 600)]
        )
        let sent = try await delivery.deliver(try await stored([.email, .sms], messageType: .reminder), lease: leasing.lease(from: start))
        #expect(sent.status == .sent && sent.channelUsed == .email)
        #expect(try await claim(after: 599, from: start) == nil)
        let silent = try #require(try await claim(after: 600, from: start))
        let after = try await delivery.deliver(silent, lease: leasing.lease(from: clock.now))
        #expect(after.status == .sent && after.channelUsed == .sms)
        #expect(after.attempts.map(\.channel) == [.email, .sms] && after.attempts.allSatisfy { $0.outcome == .sent })
        #expect(after.events.map(\.status) == [.queued, .sent, .sent])
        // The last channel sent: nothing is watched any more, and a late receipt is recorded only.
        #expect(try await claim(after: 86_400, from: start) == nil)
        #expect(try await store.move(sent.id, to: .delivered, channel: .email, detail: nil, at: clock.now) != nil)
        #expect(try await claim(after: 90_000, from: start) == nil)
    }

    @Test("a delivered receipt in time ends the watch; for WhatsApp only a read receipt does")
    func receiptInTime() async throws {
        let start = clock.now
        let silence = [SilenceFallback(urgencies: [.critical], messageTypes: [.reminder], timeout: 600)]
        let delivery = delivery([ScriptedProvider(.email), ScriptedProvider(.sms), ScriptedProvider(.whatsapp)], silence: silence)
        let email = try await delivery.deliver(try await stored([.email, .sms], messageType: .reminder), lease: leasing.lease(from: start))
        _ = try await store.move(email.id, to: .delivered, channel: .email, detail: nil, at: start.addingTimeInterval(100))
        #expect(try await claim(after: 700, from: start) == nil)

        clock.advance(to: start)
        let whatsapp = try await delivery.deliver(try await stored([.whatsapp, .sms], messageType: .reminder), lease: leasing.lease(from: start))
        _ = try await store.move(whatsapp.id, to: .delivered, channel: .whatsapp, detail: nil, at: start.addingTimeInterval(100))
        #expect(try await claim(after: 700, from: start)?.id == whatsapp.id)
    }

    @Test("a WhatsApp message delivered but never read goes out once by SMS, and the work ends there")
    func unreadWhatsAppFallsBackOnce() async throws {
        let start = clock.now
        let sms = ScriptedProvider(.sms)
        let delivery = delivery(
            [ScriptedProvider(.whatsapp), sms], silence: [SilenceFallback(urgencies: [.critical], messageTypes: [.reminder], timeout: 600)]
        )
        let sent = try await delivery.deliver(try await stored([.whatsapp, .sms], messageType: .reminder), lease: leasing.lease(from: start))
        _ = try await store.move(sent.id, to: .delivered, channel: .whatsapp, detail: nil, at: start.addingTimeInterval(100))
        let unread = try #require(try await claim(after: 600, from: start))
        let after = try await delivery.deliver(unread, lease: leasing.lease(from: clock.now))
        #expect(after.status == .sent && after.channelUsed == .sms)
        let stored = try #require(try await store.communication(id: sent.id))
        #expect(stored.status == .sent && stored.channelUsed == .sms)
        // Long after every lease has run out, nothing is due again: one SMS, not one a lease.
        #expect(try await claim(after: 86_400, from: start) == nil)
        #expect(sms.calls.withLock { $0 } == 1)
    }
}
