import CRMModel
import Foundation
import Persistence
import Synchronization
import Testing

/// `Store.analytics`: the same figures from the same history on every backend, each one what the
/// definitions in AnalyticsTally and AnalyticsSQL say.
@Suite("Analytics conformance")
struct AnalyticsConformanceTests {
    static let start = Date(timeIntervalSince1970: 1_764_052_200)  // on a quarter hour
    static let plan = UUID()

    struct Script {
        var channel: Channel
        var messageType: MessageType = .reminder
        /// Attempts before the last, each (channel, provider, outcome, category).
        var attempts: [(Channel, String, Attempt.Outcome, FailureCategory?)]
        /// Statuses after the attempts, with their offsets in seconds.
        var receipts: [(CommunicationStatus, TimeInterval)] = []
    }

    func communication(_ type: MessageType, at offset: TimeInterval, plan: UUID = plan) throws -> Communication {
        let request = CommunicationRequest(
            planID: plan, clientID: UUID(), messageType: type, urgency: .high,
            recipient: Recipient(email: try EmailAddress(validating: "ana@example.com"), phone: try PhoneNumber(validating: "+14155550100")),
            context: [:]
        )
        let at = Self.start.addingTimeInterval(offset)
        return Communication(
            id: UUID(), request: request, decision: Decision(channels: [.sms, .email], sendAt: at, priority: 7, reasons: []),
            status: .queued, createdAt: at
        )
    }

    /// Stores `script`'s history for a communication accepted at `offset`; its id.
    func play(_ script: Script, at offset: TimeInterval, in store: any Store, plan: UUID = plan) async throws -> UUID {
        let stored = try communication(script.messageType, at: offset, plan: plan)
        try await store.insert(stored, leasedTo: nil)
        for (index, (channel, provider, outcome, category)) in script.attempts.enumerated() {
            let at = stored.createdAt.addingTimeInterval(Double(index + 1))
            let attempt = Attempt(
                number: index + 1, channel: channel, provider: provider, startedAt: at, latencyMilliseconds: 250, outcome: outcome,
                providerMessageID: outcome == .sent ? "m-\(UUID())" : nil, errorCategory: category, error: category.map { "\($0)" }
            )
            let status: CommunicationStatus? = switch (outcome, index == script.attempts.count - 1) {
            case (.sent, _): .sent
            case (.failed, true): .failed
            default: nil
            }
            _ = try await store.record(attempt, for: stored.id, movingTo: status)
        }
        for (status, seconds) in script.receipts {
            _ = try await store.move(
                stored.id, to: status, channel: nil, detail: nil, providerMessageID: nil, at: stored.createdAt.addingTimeInterval(seconds)
            )
        }
        return stored.id
    }

    @Test("a known history gives exactly its counts, rates' parts, percentiles, fallbacks, retries and failures", arguments: StoreBackend.available)
    func figures(_ backend: StoreBackend) async throws {
        let figures = try await backend.withStore { store in try await Self.scripted(in: store) }
        #expect(figures.total == AnalyticsTally(communications: 7, sent: 6, delivered: 4, opened: 2, clicked: 1, failed: 2, bounced: 1, outcomes: 7))
        #expect(figures.byChannel["email"] == AnalyticsTally(communications: 4, sent: 4, delivered: 3, opened: 2, clicked: 1, failed: 0, bounced: 1, outcomes: 4))
        #expect(figures.byChannel["sms"] == AnalyticsTally(communications: 3, sent: 2, delivered: 1, opened: 0, clicked: 0, failed: 2, bounced: 0, outcomes: 3))
        #expect(figures.byProvider["twilio"]?.communications == 3 && figures.byProvider["smtp"]?.communications == 4)
        #expect(figures.byMessageType["vendor_options"]?.communications == 1 && figures.byMessageType["reminder"]?.communications == 6)
        #expect(figures.byStatus == ["sent": 1, "delivered": 1, "opened": 1, "clicked": 1, "failed": 2, "bounced": 1])
        #expect(figures.fallbacks == [.init(from: "sms", to: "email", count: 1)])
        #expect(figures.retries == 1)
        #expect(figures.failures == [.init(provider: "twilio", category: "invalid_recipient", count: 1), .init(provider: "twilio", category: "transient", count: 2)])
        #expect(figures.replies["reminder"] == .init(replies: 2, responded: 1))
        #expect(figures.optOuts == [.init(channel: "sms", source: "sms_keyword", count: 1)])
        // queued -> sent per email (an attempt starts n s in and takes 250 ms): 1.25 s three times,
        // and 3.25 s for the fallback's third attempt. Nearest rank of 4: the 2nd, 4th and 4th.
        let email = figures.percentiles.filter { $0.channel == "email" && $0.measure == "queued_to_sent" }
        #expect(email.map(\.percent) == [50, 95, 99] && email.map(\.milliseconds) == [1250, 3250, 3250] && email.allSatisfy { $0.count == 4 })
        // sent -> delivered for SMS: 29.75 s and 59.75 s (the first failed after its receipt: it is
        // no longer delivered, but it was, that fast).
        let sms = figures.percentiles.filter { $0.channel == "sms" && $0.measure == "sent_to_delivered" }
        #expect(sms.map(\.milliseconds) == [29_750, 59_750, 59_750] && sms.first?.count == 2)
        #expect(figures.percentiles.allSatisfy { !($0.channel == "email" && $0.measure == "sent_to_delivered") })
        // All seven in the first two quarter hours.
        #expect(figures.quarters.values.map(\.communications).reduce(0, +) == 7 && figures.quarters.count == 2)
        // Another plan's communication does not count.
        #expect(figures.total.communications == 7)
    }

    @Test("both backends give the same figures for the same history, filters included")
    func backendsAgree() async throws {
        guard StoreBackend.available.count == 2 else { return }
        var results: [AnalyticsFigures] = []
        for backend in StoreBackend.allCases {
            results.append(try await backend.withStore { store in try await Self.scripted(in: store) })
        }
        #expect(results[0] == results[1])
    }

    @Test(
        "histories played all at once, so that PostgreSQL commits their writes together, leave each communication as one played alone",
        arguments: StoreBackend.available
    )
    func together(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let (alone, together) = (UUID(), UUID())
            for (script, offset) in Self.histories { _ = try await play(script, at: offset, in: store, plan: alone) }
            try await withThrowingTaskGroup(of: UUID.self) { group in
                for _ in 0..<4 {
                    for (script, offset) in Self.histories {
                        group.addTask { try await AnalyticsConformanceTests().play(script, at: offset, in: store, plan: together) }
                    }
                }
                try await group.waitForAll()
            }
            /// The plan's records without what differs between two plays of a history (its ids).
            func records(of plan: UUID) async throws -> [String] {
                let records = Mutex<[String]>([])
                _ = try await store.records(AnalyticsQuery(start: Self.start, end: Self.start.addingTimeInterval(3_600), planID: plan)) { record in
                    var record = record
                    (record.communicationID, record.planID, record.clientID) = ("", "", "")
                    records.withLock { $0.append(String(describing: record)) }
                    return true
                }
                return records.withLock { $0 }.sorted()
            }
            let played = try await records(of: alone)
            #expect(played.count == Self.histories.count)
            #expect(try await records(of: together) == played.flatMap { Array(repeating: $0, count: 4) })
            let figures = { (plan: UUID) in try await store.analytics(AnalyticsQuery(start: Self.start, end: Self.start.addingTimeInterval(3_600), planID: plan)) }
            let (one, four) = (try await figures(alone), try await figures(together))
            #expect(four.total.communications == 4 * one.total.communications && four.retries == 4 * one.retries && four.retries > 0)
        }
    }

    @Test("the filters narrow to plan, client, channel and message type", arguments: StoreBackend.available)
    func filters(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await Self.scripted(in: store)
            let window = (Self.start, Self.start.addingTimeInterval(3_600))
            let sms = try await store.analytics(AnalyticsQuery(start: window.0, end: window.1, planID: Self.plan, channel: .sms))
            #expect(sms.total.communications == 3 && Set(sms.byChannel.keys) == ["sms"])
            let type = try await store.analytics(AnalyticsQuery(start: window.0, end: window.1, planID: Self.plan, messageType: .vendorOptions))
            #expect(type.total.communications == 1)
            let nobody = try await store.analytics(AnalyticsQuery(start: window.0, end: window.1, clientID: UUID()))
            #expect(nobody.total == AnalyticsTally() && nobody.optOuts.isEmpty)
            let later = try await store.analytics(AnalyticsQuery(start: window.1, end: window.1.addingTimeInterval(60)))
            #expect(later.total.communications == 0 && later.quarters.isEmpty)
        }
    }

    @Test("the tallies kept per day and quarter hour, and the latency indexes, give what the communications give, at ragged edges, under filters and after a purge", arguments: StoreBackend.available)
    func quarters(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await Self.scripted(in: store)
            // More history a few hours on, so that whole quarters, partial ones and empty ones mix.
            let later = 3 * 3_600.0
            _ = try await play(Script(channel: .sms, attempts: [(.sms, "twilio", .failed, .transient), (.sms, "twilio", .sent, nil)], receipts: [(.delivered, 20)]), at: later, in: store)
            _ = try await play(Script(channel: .email, messageType: .welcome, attempts: [(.email, "smtp", .sent, nil)], receipts: [(.clicked, 400)]), at: later + 1_000, in: store)
            _ = try await play(Script(channel: .sms, attempts: []), at: later + 2_000, in: store)

            // And the next UTC day, so that a window holds a whole day.
            _ = try await play(Script(channel: .whatsapp, attempts: [(.whatsapp, "whatsapp", .sent, nil)], receipts: [(.delivered, 5)]), at: 86_400, in: store)

            func agree(_ query: AnalyticsQuery, _ label: String, folding: Bool = true) async throws {
                var (fast, raw) = (query, query)
                fast.latencyIndexFrom = 1
                fast.foldsDeltas = folding
                raw.usesQuarters = false
                raw.latencyIndexFrom = .max
                raw.foldsDeltas = false
                let (tallied, counted) = (try await store.analytics(fast), try await store.analytics(raw))
                #expect(tallied == counted, "\(label)")
                #expect(tallied.total.communications > 0 || label.hasPrefix("empty"), "\(label)")
            }
            let (start, now) = (Self.start, Self.start.addingTimeInterval(5 * 3_600))
            // Self.start is 06:30 UTC: from 23:30 the day before to 08:30 the day after holds a whole UTC day.
            let windows: [(TimeInterval, TimeInterval, String)] = [
                (0, 4 * 3_600, "whole quarters"), (7 * 60, 3 * 3_600 + 1_500, "ragged edges"), (-3_600, 5 * 3_600 + 1, "wider"),
                (5, 800, "within one quarter"), (3_600, 3 * 3_600 - 60, "empty quarters only"), (-7 * 3_600, 26 * 3_600, "a whole UTC day"),
            ]
            // First with every change still a delta, then folded into the tallies.
            for folding in [false, true] {
                for (from, to, label) in windows {
                    let query = AnalyticsQuery(start: start.addingTimeInterval(from), end: start.addingTimeInterval(to), now: now)
                    try await agree(query, label.hasPrefix("empty") ? "empty: \(label)" : label, folding: folding)
                    for channel in Channel.allCases {
                        var narrowed = query
                        narrowed.channel = channel
                        try await agree(narrowed, "empty or not: \(label), \(channel)", folding: folding)
                    }
                    var typed = query
                    typed.messageType = .reminder
                    try await agree(typed, "\(label), reminders", folding: folding)
                }
            }
            // A purge takes communications away from their quarters too.
            let counts = try await store.purge(before: start.addingTimeInterval(1_000), auditBefore: start, limit: 100, dryRun: false)
            #expect(counts.communications > 0)
            try await agree(AnalyticsQuery(start: start.addingTimeInterval(-60), end: start.addingTimeInterval(4 * 3_600), now: now), "after a purge")
        }
    }

    /// The plan's seven histories, each with the offset of its acceptance.
    static var histories: [(script: Script, offset: TimeInterval)] {
        let twilio = "twilio", smtp = "smtp"
        return [
            // Email sent and nothing else (delivered, as email goes).
            (Script(channel: .email, attempts: [(.email, smtp, .sent, nil)]), 0),
            // Email opened, then clicked.
            (Script(channel: .email, attempts: [(.email, smtp, .sent, nil)], receipts: [(.opened, 30), (.clicked, 40)]), 10),
            // Email bounced after it was sent.
            (Script(channel: .email, attempts: [(.email, smtp, .sent, nil)], receipts: [(.bounced, 50)]), 20),
            // SMS: a transient failure, a retry that went out, delivered 60 s later (replied to twice, below).
            (Script(channel: .sms, attempts: [(.sms, twilio, .failed, .transient), (.sms, twilio, .sent, nil)], receipts: [(.delivered, 62)]), 30),
            // SMS: delivered 30 s after sending, then undelivered after all (failed).
            (Script(channel: .sms, messageType: .vendorOptions, attempts: [(.sms, twilio, .sent, nil)], receipts: [(.delivered, 31), (.failed, 90)]), 40),
            // SMS refused for the address, then email opened: a fallback sms -> email.
            (Script(channel: .email, attempts: [(.sms, twilio, .failed, .invalidRecipient), (.sms, "other", .skipped, nil), (.email, smtp, .sent, nil)],
                    receipts: [(.opened, 100)]), 950),
            // SMS that never went out: failed for good after a transient error.
            (Script(channel: .sms, attempts: [(.sms, twilio, .failed, .transient)]), 960),
        ]
    }

    /// Seven communications of `plan` (and one of another plan) with a known history; the figures
    /// for the hour they were accepted in.
    static func scripted(in store: any Store) async throws -> AnalyticsFigures {
        let test = AnalyticsConformanceTests()
        var played: [UUID] = []
        for (script, offset) in histories { played.append(try await test.play(script, at: offset, in: store)) }
        let replied = played[3]
        // Another plan.
        _ = try await test.play(Script(channel: .email, attempts: [(.email, "smtp", .sent, nil)]), at: 5, in: store, plan: UUID())

        for (index, provider) in ["SM1", "SM2"].enumerated() {
            _ = try await store.receive(
                InboundReply(clientID: nil, communicationID: replied, channel: .sms, from: "+14155550100", text: "ok", intent: "other",
                             selection: nil, at: start.addingTimeInterval(Double(100 + index))),
                providerMessageID: provider
            )
        }
        let client = UUID()
        _ = try await store.save(
            ClientPreferences(clientID: client), source: "sms_keyword",
            announcing: ConsentChange(clientID: client, channel: .sms, source: "sms_keyword", at: start.addingTimeInterval(200))
        )
        return try await store.analytics(AnalyticsQuery(start: start, end: start.addingTimeInterval(3_600), planID: plan))
    }
}
