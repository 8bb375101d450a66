import CRMModel
import Foundation
import Persistence
import Testing

/// What every `Store` backend must do (the requirements on `Store`), run against each backend.
@Suite("Store conformance")
struct StoreConformanceTests {
    static let start = Date(timeIntervalSince1970: 1_764_052_331.123)

    func communication(
        plan: UUID = UUID(), client: UUID = UUID(), at offset: TimeInterval = 0, sendAt: Date = start, priority: Int = 7
    ) throws -> Communication {
        let request = CommunicationRequest(
            planID: plan, clientID: client, messageType: .budgetSummary, urgency: .high,
            recipient: Recipient(email: try EmailAddress(validating: "priya@example.com"), phone: try PhoneNumber(validating: "+919876543210")),
            context: ["client_name": .string("Priya"), "guest_count": .int(150), "budget_strategies": .array([.object(["name": .string("Lean")])])],
            preferredChannel: .email
        )
        let decision = Decision(channels: [.email, .sms], sendAt: sendAt, priority: priority, reasons: ["because"])
        let status: CommunicationStatus = sendAt > Self.start ? .scheduled : .queued
        return Communication(id: UUID(), request: request, decision: decision, status: status, createdAt: Self.start.addingTimeInterval(offset))
    }

    func wire(_ value: some Encodable) throws -> String {
        String(decoding: try WireJSON.makeEncoder().encode(value), as: UTF8.self)
    }

    @Test("a communication reads back as it was written", arguments: StoreBackend.available)
    func roundTrip(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let written = try communication()
            try await store.insert(written, leasedTo: nil)
            let read = try #require(try await store.communication(id: written.id))
            // Stores keep times to the millisecond, as the wire does: compare in wire form.
            #expect(try wire(read) == wire(written))
            #expect(try await store.communication(id: UUID()) == nil)
        }
    }

    @Test("an attempt and the status it causes are recorded together", arguments: StoreBackend.available)
    func attempts(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let written = try communication()
            try await store.insert(written, leasedTo: nil)
            let failed = Attempt(number: 1, channel: .email, provider: "outbox", startedAt: Self.start, latencyMilliseconds: 3, outcome: .failed,
                                 errorCategory: .transient, error: "timeout")
            #expect(try await store.record(failed, for: written.id, movingTo: nil) == nil)
            let sent = Attempt(number: 2, channel: .sms, provider: "outbox", startedAt: Self.start, latencyMilliseconds: 5, outcome: .sent,
                               providerMessageID: "SM123")
            let change = try #require(try await store.record(sent, for: written.id, movingTo: .sent))
            #expect(change.status == .sent && change.previousStatus == .queued && change.attempt == 2 && change.providerMessageID == "SM123")
            let read = try #require(try await store.communication(id: written.id))
            #expect(try wire(read.attempts) == wire([failed, sent]))
            #expect(read.status == .sent && read.channelUsed == .sms)
            #expect(read.events.map(\.status) == [.queued, .sent])
        }
    }

    @Test("an attempt for a communication that is not stored is refused, with or without the status it causes", arguments: StoreBackend.available)
    func attemptForNothing(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let nowhere = UUID()
            let failed = Attempt(number: 1, channel: .email, provider: "outbox", startedAt: Self.start, latencyMilliseconds: 3, outcome: .failed,
                                 errorCategory: .transient, error: "timeout")
            await #expect(throws: StoreError.self) { try await store.record(failed, for: nowhere, movingTo: nil) }
            var second = failed
            second.number = 2
            await #expect(throws: StoreError.self) { try await store.record(second, for: nowhere, movingTo: .failed) }
            // Stored afterwards under that id, it has no attempt from before.
            var written = try communication()
            written.id = nowhere
            try await store.insert(written, leasedTo: nil)
            #expect(try await store.communication(id: nowhere)?.attempts.isEmpty == true)
        }
    }

    @Test("statuses only move forward; late and repeated changes are ignored", arguments: StoreBackend.available)
    func forwardOnly(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let written = try communication()
            try await store.insert(written, leasedTo: nil)
            let later = Self.start.addingTimeInterval(1)
            #expect(try await store.move(written.id, to: .delivered, channel: .email, detail: nil, at: later)?.previousStatus == .queued)
            #expect(try await store.move(written.id, to: .sent, channel: .email, detail: nil, at: later) == nil)
            #expect(try await store.move(written.id, to: .delivered, channel: .email, detail: nil, at: later) == nil)
            #expect(try await store.move(written.id, to: .opened, channel: nil, detail: nil, at: later) != nil)
            let read = try #require(try await store.communication(id: written.id))
            #expect(read.status == .opened && read.channelUsed == nil)
            #expect(read.events.map(\.status) == [.queued, .delivered, .opened])
            #expect(try await store.move(UUID(), to: .sent, channel: nil, detail: nil, at: later) == nil)
        }
    }

    @Test("listing pages newest first by plan, client and status", arguments: StoreBackend.available)
    func listing(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let plan = UUID()
            let client = UUID()
            var written: [Communication] = []
            for index in 0..<7 {
                // Two share a creation time, so the id breaks the tie.
                let item = try communication(plan: plan, client: client, at: TimeInterval(index / 2 * 2))
                try await store.insert(item, leasedTo: nil)
                written.append(item)
            }
            try await store.insert(try communication(), leasedTo: nil)
            var seen: [UUID] = []
            var query = CommunicationQuery(planID: plan, limit: 3)
            while true {
                let page = try await store.communications(matching: query)
                seen += page.items.map(\.id)
                guard let next = page.next else { break }
                query.after = next
            }
            let expected = written.sorted {
                ($0.createdAt, $0.id.uuidString.lowercased()) > ($1.createdAt, $1.id.uuidString.lowercased())
            }.map(\.id)
            #expect(seen == expected)
            #expect(try await store.communications(matching: CommunicationQuery(clientID: client, limit: 100)).items.count == 7)
            #expect(try await store.communications(matching: CommunicationQuery(status: .sent, limit: 100)).items.isEmpty)
        }
    }

    @Test("preferences are stored whole and replaced whole", arguments: StoreBackend.available)
    func preferences(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let client = UUID()
            #expect(try await store.preferences(for: client) == nil)
            var preferences = ClientPreferences(
                clientID: client, preferredChannels: [.whatsapp, .email], timezone: try IANATimeZone(validating: "Asia/Kolkata"),
                quietHoursStart: LocalTime(hour: 21, minute: 30), optOutSMS: true, languagePreference: "hi", updatedAt: Self.start
            )
            try await store.save(preferences)
            #expect(try wire(try await store.preferences(for: client)) == wire(preferences))
            preferences.optOutSMS = false
            preferences.preferredChannels = []
            try await store.save(preferences)
            #expect(try wire(try await store.preferences(for: client)) == wire(preferences))
        }
    }

    @Test("ping answers while the database does", arguments: StoreBackend.available)
    func ping(_ backend: StoreBackend) async throws {
        try await backend.withStore { try await $0.ping() }
    }

    // MARK: - Encryption at rest

    @Test("attachments are stored with their communication, in order, sealed, and gone with the client's key", arguments: StoreBackend.available)
    func attachments(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let client = UUID()
            let item = try communication(client: client)
            let files = [
                try Attachment(filename: "budget.pdf", contentType: "application/pdf", data: Data([0x25, 0x50, 0x44, 0x46, 0x00, 0xFF])),
                try Attachment(filename: "floor plan é.png", contentType: "image/png", data: Data(repeating: 7, count: 70_000)),
            ]
            try await store.insert(item, attachments: files, leasedTo: nil, fingerprint: nil)
            #expect(try await store.attachments(of: item.id) == files)
            #expect(try await store.attachments(of: UUID()).isEmpty)
            try await store.shred(clientID: client)
            #expect(try await store.attachments(of: item.id).isEmpty)
        }
    }

    @Test("an attempt keeps the template variables its context lacked", arguments: StoreBackend.available)
    func missingVariables(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let item = try communication()
            try await store.insert(item, leasedTo: nil)
            let attempt = Attempt(
                number: 1, channel: .email, provider: "smtp", startedAt: Self.start, latencyMilliseconds: 12, outcome: .sent,
                providerMessageID: "m-1", missingVariables: ["client_name", "event_date"]
            )
            _ = try await store.record(attempt, for: item.id, movingTo: .sent)
            #expect(try await store.communication(id: item.id)?.attempts == [attempt])
        }
    }


    @Test("a shredded client's communications read back without their personal data", arguments: StoreBackend.available)
    func shredding(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let client = UUID()
            let forgotten = try communication(client: client)
            let kept = try communication()
            try await store.insert(forgotten, leasedTo: nil)
            try await store.insert(kept, leasedTo: nil)
            try await store.shred(clientID: client)
            let read = try #require(try await store.communication(id: forgotten.id))
            #expect(read.recipient == Recipient() && read.context.isEmpty)
            #expect(read.messageType == forgotten.messageType && read.status == forgotten.status)
            #expect(try wire(read.decision) == wire(forgotten.decision))
            #expect(try await store.communication(id: kept.id)?.recipient == kept.recipient)
            // A new communication for the client gets a new key and reads back whole.
            let again = try communication(client: client)
            try await store.insert(again, leasedTo: nil)
            #expect(try await store.communication(id: again.id)?.context == again.context)
        }
    }

    @Test("clients are found by a blind index of their addresses", arguments: StoreBackend.available)
    func contacts(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let client = UUID()
            try await store.insert(try communication(client: client), leasedTo: nil)
            try await store.insert(try communication(client: client), leasedTo: nil)
            #expect(try await store.clients(withAddress: "Priya@Example.com").contains(client))
            #expect(try await store.clients(withAddress: "+919876543210").contains(client))
            #expect(try await store.clients(withAddress: "+919876543211").isEmpty)
            try await store.shred(clientID: client)
            #expect(try await store.clients(withAddress: "priya@example.com").contains(client) == false)
        }
    }

    // MARK: - Work queue

    static func lease(_ owner: String, for seconds: TimeInterval = 30, from now: Date = start) -> Lease {
        Lease(owner: owner, expiresAt: now.addingTimeInterval(seconds))
    }

    @Test("due work goes to one lease holder, highest priority first, and back when the lease runs out", arguments: StoreBackend.available)
    func claiming(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let low = try communication(priority: 3)
            let high = try communication(priority: 9)
            let later = try communication(sendAt: Self.start.addingTimeInterval(3600))
            let held = try communication()
            for item in [low, high, later] { try await store.insert(item, leasedTo: nil) }
            try await store.insert(held, leasedTo: Self.lease("c"))

            let first = try await store.claimDue(by: Self.start, for: Self.lease("a"), limit: 1)
            #expect(first.map(\.id) == [high.id])
            #expect(first.first?.recipient == high.recipient)
            #expect(try await store.claimDue(by: Self.start, for: Self.lease("b"), limit: 10).map(\.id) == [low.id])
            #expect(try await store.claimDue(by: Self.start, for: Self.lease("b"), limit: 10).isEmpty)

            // a's lease runs out; its work is due again for whoever claims next.
            let afterLease = Self.start.addingTimeInterval(31)
            let reclaimed = try await store.claimDue(by: afterLease, for: Self.lease("b", from: afterLease), limit: 10)
            #expect(Set(reclaimed.map(\.id)) == [high.id, low.id, held.id])
            #expect(try await store.renew(high.id, lease: Self.lease("a", for: 60)) == false)
            #expect(try await store.renew(high.id, lease: Self.lease("b", for: 60)))

            // Scheduled work is due at its time.
            let atTime = Self.start.addingTimeInterval(3600)
            #expect(try await store.claimDue(by: atTime, for: Self.lease("c", from: atTime), limit: 10).map(\.id).contains(later.id))
        }
    }

    @Test("sent or ended work leaves the queue; released work is due again", arguments: StoreBackend.available)
    func finishing(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let sent = try communication()
            let failed = try communication()
            let released = try communication()
            for item in [sent, failed, released] { try await store.insert(item, leasedTo: Self.lease("a")) }
            let attempt = Attempt(number: 1, channel: .email, provider: "outbox", startedAt: Self.start, latencyMilliseconds: 1, outcome: .sent)
            _ = try await store.record(attempt, for: sent.id, movingTo: .sent)
            _ = try await store.move(failed.id, to: .failed, channel: nil, detail: "every channel failed", at: Self.start)
            try await store.release(released.id, owner: "a", dueAt: nil)
            #expect(try await store.renew(sent.id, lease: Self.lease("a")) == false)
            let farLater = Self.start.addingTimeInterval(86_400)
            #expect(try await store.claimDue(by: farLater, for: Self.lease("b", from: farLater), limit: 10).map(\.id) == [released.id])
        }
    }

    @Test("claimers racing for the same work never get the same communication", arguments: StoreBackend.available)
    func racingClaims(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            var written: Set<UUID> = []
            for _ in 0..<60 {
                let item = try communication()
                try await store.insert(item, leasedTo: nil)
                written.insert(item.id)
            }
            let claims = try await withThrowingTaskGroup(of: [UUID].self) { group in
                for claimer in 0..<4 {
                    group.addTask {
                        var mine: [UUID] = []
                        while true {
                            let batch = try await store.claimDue(by: Self.start, for: Self.lease("claimer-\(claimer)"), limit: 4)
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: [UUID]()) { $0 += $1 }
            }
            #expect(claims.count == written.count)
            #expect(Set(claims) == written)
        }
    }

    // MARK: - Idempotency

    @Test("an idempotency key stores one communication, however often and however concurrently", arguments: StoreBackend.available)
    func idempotency(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            func keyed(_ key: String) throws -> Communication {
                var item = try communication()
                item.idempotencyKey = key
                return item
            }
            let first = try keyed("node-7")
            let same = Data([1, 2, 3])
            #expect(try await store.insert(first, attachments: [], leasedTo: nil, fingerprint: same).isInserted)
            #expect(try await store.insert(try keyed("node-7"), attachments: [], leasedTo: nil, fingerprint: same) == .existing(first.id))
            #expect(try await store.insert(try keyed("node-7"), attachments: [], leasedTo: nil, fingerprint: Data([9])) == .conflict)

            let racing = try (0..<8).map { _ in try keyed("node-8") }
            let outcomes = try await withThrowingTaskGroup(of: Idempotency.Insertion.self) { group in
                for item in racing {
                    group.addTask { try await store.insert(item, attachments: [], leasedTo: nil, fingerprint: same) }
                }
                return try await group.reduce(into: [Idempotency.Insertion]()) { $0.append($1) }
            }
            let inserted = racing.filter { item in outcomes.contains(.existing(item.id)) }
            #expect(outcomes.filter(\.isInserted).count == 1)
            #expect(inserted.count == 1 && outcomes.filter { !$0.isInserted }.allSatisfy { $0 == .existing(inserted[0].id) })
            let stored = try await store.communications(matching: CommunicationQuery(limit: 100)).items.map(\.id)
            #expect(stored.count == 2)
        }
    }
}
