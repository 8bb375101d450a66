import CRMModel
import Foundation
import Persistence
import Testing

/// What every `Store` backend must do (the requirements on `Store`), run against each backend.
@Suite("Store conformance")
struct StoreConformanceTests {
    static let start = Date(timeIntervalSince1970: 1_764_052_331.123)

    func communication(plan: UUID = UUID(), client: UUID = UUID(), at offset: TimeInterval = 0) throws -> Communication {
        let request = CommunicationRequest(
            planID: plan, clientID: client, messageType: .budgetSummary, urgency: .high,
            recipient: Recipient(email: try EmailAddress(validating: "priya@example.com"), phone: try PhoneNumber(validating: "+919876543210")),
            context: ["client_name": .string("Priya"), "guest_count": .int(150), "budget_strategies": .array([.object(["name": .string("Lean")])])],
            preferredChannel: .email
        )
        let decision = Decision(channels: [.email, .sms], sendAt: Self.start, priority: 7, reasons: ["because"])
        return Communication(id: UUID(), request: request, decision: decision, status: .queued, createdAt: Self.start.addingTimeInterval(offset))
    }

    func wire(_ value: some Encodable) throws -> String {
        String(decoding: try WireJSON.makeEncoder().encode(value), as: UTF8.self)
    }

    @Test("a communication reads back as it was written", arguments: StoreBackend.available)
    func roundTrip(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let written = try communication()
            try await store.insert(written)
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
            try await store.insert(written)
            let failed = Attempt(number: 1, channel: .email, provider: "outbox", startedAt: Self.start, latencyMilliseconds: 3, outcome: .failed,
                                 errorCategory: "transient", error: "timeout")
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

    @Test("statuses only move forward; late and repeated changes are ignored", arguments: StoreBackend.available)
    func forwardOnly(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let written = try communication()
            try await store.insert(written)
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
                try await store.insert(item)
                written.append(item)
            }
            try await store.insert(try communication())
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
}
