import Channels
import CRMModel
import Foundation
import Logging
import Orchestrator
import Persistence
import Synchronization
import Testing

/// Retries and fallback against providers that fail in scripted ways, on a real (SQLite) store, with
/// an injected clock and no jitter, so every attempt and every delay is exact.
@Suite("Delivery retries, waits and falls back by the failure's category")
struct RetryTests {
    /// A provider that answers from a script, one entry a call; `nil` accepts the message.
    final class ScriptedProvider: ChannelProvider, Sendable {
        let channel: Channel
        let name: String
        private let script: Mutex<[ProviderError?]>

        init(_ channel: Channel, name: String? = nil, _ script: [ProviderError?]) {
            self.channel = channel
            self.name = name ?? "scripted-\(channel.rawValue)"
            self.script = Mutex(script)
        }

        func send(_ message: OutboundMessage) async throws(ProviderError) -> ProviderReceipt {
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

    struct NoEvents: EngineEventSink {
        func publish(_ event: EngineEvent) async {}
    }

    let clock = Clock()
    let lease = WorkLeasing(owner: "test", duration: .seconds(30))

    func delivery(
        _ providers: [any ChannelProvider], store: any Store, health: ProviderHealth = ProviderHealth(), silence: [SilenceFallback] = []
    ) throws -> Delivery {
        let clock = self.clock
        return Delivery(
            store: store, providers: ProviderRegistry(providers), renderer: try TemplateRenderer(), events: NoEvents(),
            leasing: lease, health: health, silenceFallback: silence, now: { clock.now }, jitter: { _ in 1 },
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    func store() throws -> SQLiteStore {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-retry-\(UUID().uuidString).sqlite").path
        let cipher = FieldCipher(master: try MasterKey(secret: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="))
        return try SQLiteStore(path: path, cipher: cipher, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// Stores a communication for `channels`, then runs deliveries as the send loop would: each time
    /// the work falls due, the clock moves there and the work is claimed and delivered again.
    func run(_ channels: [Channel], providers: [any ChannelProvider], health: ProviderHealth = ProviderHealth()) async throws
        -> (Communication, [(attempt: Int, channel: Channel, at: TimeInterval, category: String?)])
    {
        let store = try store()
        let start = clock.now
        let request = CommunicationRequest(
            planID: UUID(), clientID: UUID(), messageType: .welcome, urgency: .critical,
            recipient: Recipient(email: try EmailAddress(validating: "priya@example.com"), phone: try PhoneNumber(validating: "+919876543210"))
        )
        let decision = Decision(channels: channels, sendAt: start, priority: 10, reasons: [])
        var communication = Communication(id: UUID(), request: request, decision: decision, status: .queued, createdAt: start)
        try await store.insert(communication, leasedTo: lease.lease(from: start))
        let delivery = try delivery(providers, store: store, health: health)
        communication = try await delivery.deliver(communication, lease: lease.lease(from: start))
        var rounds = 0
        while communication.status == .queued, rounds < 20 {
            rounds += 1
            // The next due time: claim a little later each round until the work comes back.
            var claimed: [Communication] = []
            var probe = clock.now
            while claimed.isEmpty, probe < start.addingTimeInterval(86_400) {
                probe = probe.addingTimeInterval(1)
                claimed = try await store.claimDue(by: probe, for: lease.lease(from: probe), limit: 1)
            }
            guard let next = claimed.first else { break }
            clock.advance(to: probe)
            communication = try await delivery.deliver(next, lease: lease.lease(from: probe))
        }
        let stored = try #require(try await store.communication(id: communication.id))
        return (stored, stored.attempts.map { ($0.number, $0.channel, $0.startedAt.timeIntervalSince(start).rounded(), $0.errorCategory?.rawValue) })
    }

    @Test("transient twice, then success: three attempts on one channel, 60 s and 300 s apart")
    func transientThenSuccess() async throws {
        let flaky = ScriptedProvider(.email, [ProviderError(.transient, "421 try later"), ProviderError(.transient, "421 try later"), nil])
        let (communication, attempts) = try await run([.email, .sms], providers: [flaky, ScriptedProvider(.sms, [])])
        #expect(communication.status == .sent && communication.channelUsed == .email)
        #expect(attempts.map(\.at) == [0, 60, 360])
        #expect(attempts.map(\.category) == ["transient", "transient", nil])
    }

    @Test("transient three times: the channel is given up for the next one")
    func transientExhausted() async throws {
        let down = ScriptedProvider(.email, Array(repeating: ProviderError(.transient, "connection refused"), count: 3))
        let (communication, attempts) = try await run([.email, .sms], providers: [down, ScriptedProvider(.sms, [])])
        #expect(communication.status == .sent && communication.channelUsed == .sms)
        #expect(attempts.map(\.channel) == [.email, .email, .email, .sms])
        #expect(attempts.map(\.at) == [0, 60, 360, 360])
    }

    @Test("permanent: straight to the next channel, no retry")
    func permanent() async throws {
        let refusing = ScriptedProvider(.sms, [ProviderError(.invalidRecipient, "21211 invalid 'To' number")])
        let (communication, attempts) = try await run([.sms, .email], providers: [refusing, ScriptedProvider(.email, [])])
        #expect(communication.channelUsed == .email)
        #expect(attempts.map(\.channel) == [.sms, .email] && attempts.map(\.at) == [0, 0])
    }

    @Test("429 with Retry-After waits that long and does not use up an attempt")
    func rateLimited() async throws {
        let busy = ScriptedProvider(.whatsapp, [
            ProviderError(.rateLimited, "429", retryAfter: 30), ProviderError(.transient, "503"),
            ProviderError(.rateLimited, "429", retryAfter: 45), ProviderError(.transient, "503"), nil,
        ])
        let (communication, attempts) = try await run([.whatsapp], providers: [busy])
        #expect(communication.status == .sent)
        // 30 s as asked; 60 s after the first transient; 45 s as asked; 300 s after the second.
        #expect(attempts.map(\.at) == [0, 30, 90, 135, 435])
    }

    @Test("an auth failure marks the provider unhealthy and falls back; later messages skip it")
    func auth() async throws {
        let health = ProviderHealth()
        let locked = ScriptedProvider(.email, [ProviderError(.auth, "535 authentication failed")])
        let sms = ScriptedProvider(.sms, [])
        let (first, attempts) = try await run([.email, .sms], providers: [locked, sms], health: health)
        #expect(first.channelUsed == .sms && attempts.map(\.channel) == [.email, .sms])
        #expect(health.problem(of: "scripted-email")?.contains("535") == true)
        let (second, again) = try await run([.email, .sms], providers: [locked, sms], health: health)
        #expect(second.channelUsed == .sms && again.map(\.channel) == [.sms])
    }

    @Test("every channel given up: failed, with the reason of each")
    func everyChannelFails() async throws {
        let (communication, _) = try await run([.sms, .email], providers: [
            ScriptedProvider(.sms, [ProviderError(.permanent, "21610 unsubscribed recipient")]),
            ScriptedProvider(.email, [ProviderError(.permanent, "550 mailbox unavailable")]),
        ])
        #expect(communication.status == .failed)
        let detail = try #require(communication.events.last?.detail)
        #expect(detail.contains("21610") && detail.contains("550"))
    }

    @Test("a provider outage fails over to the channel's next provider at once, before any backoff")
    func providerFailover() async throws {
        let primary = ScriptedProvider(.email, name: "smtp-primary", [ProviderError(.transient, "connection refused")])
        let backup = ScriptedProvider(.email, name: "smtp-backup", [])
        let (communication, attempts) = try await run([.email, .sms], providers: [primary, backup, ScriptedProvider(.sms, [])])
        #expect(communication.channelUsed == .email)
        #expect(communication.attempts.map(\.provider) == ["smtp-primary", "smtp-backup"] && attempts.map(\.at) == [0, 0])
    }

    @Test("both relays down: the channel is retried with backoff, then given up for the next")
    func everyProviderDown() async throws {
        let refused = Array(repeating: ProviderError?.some(ProviderError(.transient, "connection refused")), count: 3)
        let (communication, attempts) = try await run([.email, .sms], providers: [
            ScriptedProvider(.email, name: "smtp-a", refused), ScriptedProvider(.email, name: "smtp-b", refused), ScriptedProvider(.sms, []),
        ])
        #expect(communication.channelUsed == .sms)
        #expect(communication.attempts.map(\.provider) == ["smtp-a", "smtp-b", "smtp-a", "smtp-b", "smtp-a", "smtp-b", "scripted-sms"])
        #expect(attempts.map(\.at) == [0, 0, 60, 60, 360, 360, 360])
    }

    // MARK: - Fallback on silence

    func sentWithSilenceWatch(_ channels: [Channel], store: SQLiteStore) async throws -> (Communication, Delivery) {
        let start = clock.now
        let request = CommunicationRequest(
            planID: UUID(), clientID: UUID(), messageType: .reminder, urgency: .critical,
            recipient: Recipient(email: try EmailAddress(validating: "priya@example.com"), phone: try PhoneNumber(validating: "+919876543210"))
        )
        let communication = Communication(
            id: UUID(), request: request, decision: Decision(channels: channels, sendAt: start, priority: 10, reasons: []),
            status: .queued, createdAt: start
        )
        try await store.insert(communication, leasedTo: lease.lease(from: start))
        let delivery = try delivery(
            channels.map { ScriptedProvider($0, []) }, store: store,
            silence: [SilenceFallback(urgencies: [.critical], messageTypes: [.reminder], timeout: 600)]
        )
        return (try await delivery.deliver(communication, lease: lease.lease(from: start)), delivery)
    }

    func claim(_ store: SQLiteStore, after seconds: TimeInterval, from start: Date) async throws -> Communication? {
        let at = start.addingTimeInterval(seconds)
        clock.advance(to: at)
        return try await store.claimDue(by: at, for: lease.lease(from: at), limit: 1).first
    }

    @Test("no delivered receipt within the timeout: sent again on the next channel, and no further")
    func silenceFallsBack() async throws {
        let store = try store()
        let start = clock.now
        let (sent, delivery) = try await sentWithSilenceWatch([.email, .sms], store: store)
        #expect(sent.status == .sent && sent.channelUsed == .email)
        #expect(try await claim(store, after: 599, from: start) == nil)
        let silent = try #require(try await claim(store, after: 600, from: start))
        let after = try await delivery.deliver(silent, lease: lease.lease(from: clock.now))
        #expect(after.status == .sent && after.channelUsed == .sms)
        #expect(after.attempts.map(\.channel) == [.email, .sms] && after.attempts.allSatisfy { $0.outcome == .sent })
        #expect(after.events.map(\.status) == [.queued, .sent, .sent])
        // The last channel sent: nothing is watched any more, and a late receipt is recorded only.
        #expect(try await claim(store, after: 86_400, from: start) == nil)
        #expect(try await store.move(sent.id, to: .delivered, channel: .email, detail: nil, at: clock.now) != nil)
        #expect(try await claim(store, after: 90_000, from: start) == nil)
    }

    @Test("a delivered receipt in time ends the watch; for WhatsApp only a read receipt does")
    func receiptInTime() async throws {
        let store = try store()
        let start = clock.now
        let (email, _) = try await sentWithSilenceWatch([.email, .sms], store: store)
        _ = try await store.move(email.id, to: .delivered, channel: .email, detail: nil, at: start.addingTimeInterval(100))
        #expect(try await claim(store, after: 700, from: start) == nil)

        clock.advance(to: start)
        let (whatsapp, _) = try await sentWithSilenceWatch([.whatsapp, .sms], store: store)
        _ = try await store.move(whatsapp.id, to: .delivered, channel: .whatsapp, detail: nil, at: start.addingTimeInterval(100))
        #expect(try await claim(store, after: 700, from: start)?.id == whatsapp.id)
    }

    @Test("the policy's table decides what a provider's code means")
    func errorClasses() async throws {
        // Twilio says 21211 ("invalid 'To' number"); whatever category the provider guessed, the table
        // makes it an invalid recipient: no retry, straight to the next channel.
        let twilio = ScriptedProvider(.sms, name: "twilio", [ProviderError(.transient, "invalid To", providerCode: "21211")])
        let (communication, attempts) = try await run([.sms, .email], providers: [twilio, ScriptedProvider(.email, [])])
        #expect(communication.channelUsed == .email && attempts.map(\.category) == ["invalid_recipient", nil])
        #expect(attempts.map(\.at) == [0, 0])
    }
}
