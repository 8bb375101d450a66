import CRMModel
import Foundation
import Persistence
import Testing

/// The event log's promises on every backend: each announced change is logged with it, `seq` is
/// gapless in commit order, and a reader paging while others write never misses an event.
@Suite("Event log conformance")
struct EventLogConformanceTests {
    static let start = Date(timeIntervalSince1970: 1_764_052_331.123)

    func communication(client: UUID = UUID(), sendAt: Date = start) throws -> Communication {
        let request = CommunicationRequest(
            planID: UUID(), clientID: client, messageType: .reminder, urgency: .high,
            recipient: Recipient(email: try EmailAddress(validating: "ana@example.com"), phone: try PhoneNumber(validating: "+14155550100")),
            context: [:]
        )
        let decision = Decision(channels: [.sms], sendAt: sendAt, priority: 7, reasons: [])
        return Communication(id: UUID(), request: request, decision: decision, status: sendAt > Self.start ? .scheduled : .queued, createdAt: Self.start)
    }

    func all(_ store: any Store, _ query: EventQuery = EventQuery(limit: 1000)) async throws -> [LoggedEvent] {
        try await store.events(matching: query)
    }

    func params(_ value: some Encodable) throws -> JSONValue {
        try WireJSON.makeDecoder().decode(JSONValue.self, from: WireJSON.makeEncoder().encode(value))
    }

    /// An event as the wire has it (times to the millisecond, no metrics-only fields).
    func params(_ event: EngineEvent?) throws -> JSONValue? {
        switch event {
        case .status(let change): try params(change)
        case .optedOut(let change): try params(change)
        case .inbound(let reply): try params(reply)
        case nil: nil
        }
    }

    @Test("every change is logged with it, numbered 1, 2, 3 ..., and listed as it was announced", arguments: StoreBackend.available)
    func changesAreLogged(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let item = try communication()
            guard case .inserted(let accepted) = try await store.insert(item, attachments: [], leasedTo: nil, fingerprint: nil) else {
                Issue.record("not inserted")
                return
            }
            let sent = Attempt(number: 1, channel: .sms, provider: "twilio", startedAt: Self.start, latencyMilliseconds: 4, outcome: .sent, providerMessageID: "SM1")
            let sentChange = try #require(try await store.record(sent, for: item.id, movingTo: .sent))
            let delivered = try #require(
                try await store.move(item.id, to: .delivered, channel: .sms, detail: nil, providerMessageID: "SM1", at: Self.start.addingTimeInterval(2))
            )
            // A repeated receipt changes nothing, so logs nothing.
            #expect(try await store.move(item.id, to: .delivered, channel: .sms, detail: nil, at: Self.start.addingTimeInterval(3)) == nil)
            #expect([accepted.seq, sentChange.seq, delivered.seq] == [1, 2, 3])
            #expect(delivered.providerMessageID == "SM1")

            let listed = try await all(store)
            #expect(listed.map(\.seq) == [1, 2, 3])
            #expect(listed.allSatisfy { $0.method == "communication.status" })
            #expect(listed.map(\.params) == [try params(accepted), try params(sentChange), try params(delivered)])
            #expect(try params(try await store.event(seq: 2)) == params(EngineEvent.status(sentChange)))
            #expect(try await store.event(seq: 4) == nil)
        }
    }

    @Test("an idempotent repeat and a save with nothing to announce log nothing", arguments: StoreBackend.available)
    func nothingToAnnounce(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            var item = try communication()
            item.idempotencyKey = "thread-1"
            _ = try await store.insert(item, attachments: [], leasedTo: nil, fingerprint: Data([1]))
            var again = try communication()
            again.idempotencyKey = "thread-1"
            #expect(try await store.insert(again, attachments: [], leasedTo: nil, fingerprint: Data([1])) == .existing(item.id))
            var preferences = ClientPreferences(clientID: item.clientID)
            preferences.setOptedOut(true, of: .email)
            try await store.save(preferences)
            let optOut = ConsentChange(clientID: item.clientID, channel: .sms, source: "sms_keyword", at: Self.start)
            preferences.setOptedOut(true, of: .sms)
            let logged = try #require(try await store.save(preferences, source: "sms_keyword", announcing: optOut))
            #expect(logged.seq == 2)
            let listed = try await all(store)
            #expect(listed.map(\.method) == ["communication.status", "client.opted_out"])
            #expect(listed.last?.params == (try params(logged)))
        }
    }

    @Test("a reply is stored once, sealed, listed with its text, and unreadable once its client is erased", arguments: StoreBackend.available)
    func inbound(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let item = try communication()
            try await store.insert(item, leasedTo: nil)
            let reply = InboundReply(
                clientID: item.clientID, communicationID: item.id, channel: .sms, from: "+14155550100", text: "Yes, confirmed",
                intent: "confirmation", selection: nil, at: Self.start
            )
            let stored = try #require(try await store.receive(reply, providerMessageID: "SM9"))
            #expect(stored.seq == 2)
            // The provider sent its webhook again: stored once, announced once.
            #expect(try await store.receive(reply, providerMessageID: "SM9") == nil)
            // A number no client uses: kept too, under a key of its own.
            let stranger = InboundReply(
                clientID: nil, communicationID: nil, channel: .whatsapp, from: "+447700900123", text: "who is this?",
                intent: "unknown", selection: nil, at: Self.start
            )
            _ = try #require(try await store.receive(stranger, providerMessageID: "wamid.1"))

            let replies = try await all(store, EventQuery(limit: 10, kinds: ["inbound.message"]))
            #expect(replies.map(\.seq) == [2, 3])
            #expect(replies.first?.params == (try params(stored)))
            #expect(try params(try await store.event(seq: 3)) == params(EngineEvent.inbound({ var s = stranger; s.seq = 3; return s }())))

            try await store.shred(clientID: item.clientID)
            guard case .object(let erased) = try await all(store, EventQuery(after: 1, limit: 1)).first?.params else {
                Issue.record("the reply is no longer listed")
                return
            }
            #expect(erased["text"] == .string("") && erased["from"] == .string(""))
            #expect(erased["intent"] == .string("confirmation") && erased["seq"] == .int(2))
        }
    }

    @Test("filters and pages", arguments: StoreBackend.available)
    func filters(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let client = UUID()
            let mine = try communication(client: client)
            let other = try communication()
            try await store.insert(mine, leasedTo: nil)
            try await store.insert(other, leasedTo: nil)
            _ = try await store.move(mine.id, to: .cancelled, channel: nil, detail: "cancelled by the workflow", at: Self.start)
            #expect(try await all(store, EventQuery(limit: 10, communicationID: mine.id)).map(\.seq) == [1, 3])
            #expect(try await all(store, EventQuery(limit: 10, clientID: other.clientID)).map(\.seq) == [2])
            #expect(try await all(store, EventQuery(after: 1, limit: 1)).map(\.seq) == [2])
            #expect(try await all(store, EventQuery(after: 3, limit: 10)).isEmpty)
            #expect(try await all(store, EventQuery(limit: 10, kinds: ["client.opted_out"])).isEmpty)
        }
    }

    @Test("a reader paging while many writers commit never sees a seq behind one it was already given", arguments: StoreBackend.available)
    func pagingWhileWriting(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let writers = 8
            let each = 40
            let seen = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for _ in 0..<writers {
                    group.addTask {
                        for _ in 0..<each {
                            let item = try self.communication()
                            try await store.insert(item, leasedTo: nil)
                            _ = try await store.move(item.id, to: .cancelled, channel: nil, detail: "test", at: Self.start)
                        }
                        return []
                    }
                }
                group.addTask {
                    var seen: [Int64] = []
                    var after: Int64 = 0
                    while seen.count < writers * each * 2 {
                        let page = try await store.events(matching: EventQuery(after: after, limit: 7))
                        seen += page.map(\.seq)
                        after = page.last?.seq ?? after
                        if page.isEmpty { try await Task.sleep(for: .milliseconds(1)) }
                    }
                    return seen
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            // Handed out in order, none skipped, none twice: exactly 1...n.
            #expect(seen == Array(1...Int64(writers * each * 2)))
        }
    }
}
