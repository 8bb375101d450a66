import CRMModel
import Foundation
import Persistence
import Testing

/// Erasure, export, the audit trail and retention, held to the same rules on every backend.
@Suite("Compliance conformance")
struct ComplianceConformanceTests {
    static let start = Date(timeIntervalSince1970: 1_764_052_331.123)

    func plan() throws -> [CRMModel.Attachment] {
        [try CRMModel.Attachment(filename: "plan.pdf", contentType: "application/pdf", data: Data(repeating: 7, count: 100))]
    }

    func communication(client: UUID, at offset: TimeInterval = 0, sendAt: Date = start, attachments: Int = 0) throws -> Communication {
        var request = CommunicationRequest(
            planID: UUID(), clientID: client, messageType: .reminder, urgency: .high,
            recipient: Recipient(email: try EmailAddress(validating: "ana@example.com"), phone: try PhoneNumber(validating: "+14155550100")),
            context: ["client_name": .string("Ana")]
        )
        request.attachments = attachments > 0 ? try plan() : []
        let decision = Decision(channels: [.email], sendAt: sendAt, priority: 7, reasons: [])
        return Communication(
            id: UUID(), request: request, decision: decision, status: sendAt > Self.start.addingTimeInterval(offset) ? .scheduled : .queued,
            createdAt: Self.start.addingTimeInterval(offset)
        )
    }

    @Test("an erasure shreds the client's data, cancels what is unsent, keeps the rows, and a repeat changes nothing", arguments: StoreBackend.available)
    func forget(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let client = UUID()
            var sent = try communication(client: client, attachments: 1)
            sent.idempotencyKey = "thread-1/welcome"
            try await store.insert(sent, attachments: try plan(), leasedTo: nil, fingerprint: Data([1]))
            _ = try await store.record(
                Attempt(number: 1, channel: .email, provider: "smtp", startedAt: Self.start, latencyMilliseconds: 3, outcome: .sent, providerMessageID: "m1"),
                for: sent.id, movingTo: .sent
            )
            let later = try communication(client: client, sendAt: Self.start.addingTimeInterval(86_400))
            try await store.insert(later, leasedTo: nil)
            _ = try await store.receive(
                InboundReply(clientID: client, communicationID: sent.id, channel: .sms, from: "+14155550100", text: "yes", intent: "confirmation",
                             selection: nil, at: Self.start),
                providerMessageID: "SM1"
            )
            let other = try communication(client: UUID())
            try await store.insert(other, leasedTo: nil)

            let before = try await store.export(clientID: client, at: Self.start)
            #expect(before.contacts.map(\.address).sorted() == ["+14155550100", "+14155550100", "ana@example.com"])
            #expect(before.communications.count == 2 && before.attachments.map(\.bytes) == [100] && before.inboundMessages.count == 1)

            let forgetting = try await store.forget(clientID: client, reason: "request 7", actor: .rpc, at: Self.start.addingTimeInterval(5))
            #expect(forgetting.erasure.erasedCommunications == 2 && forgetting.erasure.cancelledCommunications == 1)
            #expect(forgetting.cancelled.map(\.communicationID) == [later.id] && forgetting.cancelled.first?.error == "client erased")
            #expect(Set(forgetting.communicationIDs) == [sent.id, later.id])

            let read = try #require(try await store.communication(id: sent.id))
            #expect(read.erased && read.erasedAt != nil && read.recipient == Recipient() && read.context.isEmpty && read.idempotencyKey == nil)
            #expect(read.status == .sent)
            #expect(try await store.communication(id: later.id)?.status == .cancelled)
            #expect(try await store.attachments(of: sent.id).isEmpty)
            #expect(try await !store.clients(withAddress: "ana@example.com").contains(client))
            #expect(try await store.communication(id: other.id)?.erased == false)
            // The key is free for a new request, which starts fresh.
            var again = try communication(client: client)
            again.idempotencyKey = "thread-1/welcome"
            #expect(try await store.insert(again, attachments: [], leasedTo: nil, fingerprint: Data([1])).isInserted)

            let after = try await store.export(clientID: client, at: Self.start)
            #expect(after.communications.filter(\.erased).allSatisfy { $0.recipient == Recipient() && $0.context.isEmpty })
            #expect(after.inboundMessages.first.flatMap { if case .object(let o) = $0.params { o["text"] } else { nil } } == .string(""))
            #expect(after.attachments.isEmpty && after.erasedAt != nil)

            // A second erasure with nothing new to erase: the first one's time, zero counts.
            _ = try await store.forget(clientID: client, reason: nil, actor: .rpc, at: Self.start.addingTimeInterval(9))
            let repeated = try await store.forget(clientID: client, reason: nil, actor: .rpc, at: Self.start.addingTimeInterval(10))
            #expect(repeated.erasure.erasedCommunications == 0 && repeated.erasure.cancelledCommunications == 0)
            #expect(WireJSON.format(repeated.erasure.erasedAt) == WireJSON.format(Self.start.addingTimeInterval(9)))
            let erasures = try await store.auditEntries(matching: AuditQuery(clientID: client, action: AuditEntry.clientErased))
            #expect(erasures.count == 2)
        }
    }

    @Test("the audit trail lists by client, action and time, oldest first, and keeps only what the law needs when asked", arguments: StoreBackend.available)
    func audit(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let client = UUID()
            try await store.insert(try communication(client: client), leasedTo: nil)
            var preferences = ClientPreferences(clientID: client)
            preferences.setOptedOut(true, of: .sms)
            preferences.updatedAt = Self.start
            try await store.save(preferences, source: "sms_keyword")
            try await store.audit(AuditEntry(at: Self.start.addingTimeInterval(60), actor: .system, action: AuditEntry.keyRotated, detail: "client_keys=1"))
            let all = try await store.auditEntries(matching: AuditQuery())
            #expect(all.map(\.action) == [AuditEntry.communicationAccepted, AuditEntry.preferencesSaved, AuditEntry.keyRotated])
            #expect(all.map(\.actor) == [.rpc, .webhook, .system])
            #expect(all.map { $0.seq ?? 0 } == all.map { $0.seq ?? 0 }.sorted())
            #expect(try await store.auditEntries(matching: AuditQuery(clientID: client)).count == 2)
            #expect(try await store.auditEntries(matching: AuditQuery(since: Self.start.addingTimeInterval(30))).map(\.action) == [AuditEntry.keyRotated])
            #expect(try await store.auditEntries(matching: AuditQuery(after: all[0].seq, limit: 1)).map(\.action) == [AuditEntry.preferencesSaved])
        }
    }

    @Test("retention removes what is old and done, never what is still to be sent, and a dry run removes nothing", arguments: StoreBackend.available)
    func purge(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let client = UUID()
            var old = try communication(client: client, attachments: 1)
            old.idempotencyKey = "plan-1/reminder"
            try await store.insert(old, attachments: try plan(), leasedTo: nil, fingerprint: Data([1]))
            let failed = Attempt(number: 1, channel: .email, provider: "smtp", startedAt: Self.start, latencyMilliseconds: 3, outcome: .failed,
                                 errorCategory: .permanent, error: "550 no such user")
            _ = try await store.record(failed, for: old.id, movingTo: nil)
            _ = try await store.move(old.id, to: .cancelled, channel: nil, detail: "test", at: Self.start)
            let waiting = try communication(client: client, sendAt: Self.start.addingTimeInterval(3 * 365 * 86_400))
            try await store.insert(waiting, leasedTo: nil)
            let recent = try communication(client: client, at: 400 * 86_400)
            try await store.insert(recent, leasedTo: nil)
            _ = try await store.move(recent.id, to: .cancelled, channel: nil, detail: "test", at: Self.start.addingTimeInterval(400 * 86_400))

            let cutoff = Self.start.addingTimeInterval(200 * 86_400)
            let dry = try await store.purge(before: cutoff, auditBefore: cutoff, limit: 100, dryRun: true)
            #expect(dry.communications == 1 && dry.attachments == 1 && dry.statusEvents == 2)
            #expect(try await store.communication(id: old.id) != nil)

            let counts = try await store.purge(before: cutoff, auditBefore: cutoff, limit: 100, dryRun: false)
            #expect(counts.communications == 1 && counts.attempts == 1 && counts.statusEvents == 2 && counts.attachments == 1)
            #expect(counts.events == 3 && counts.auditLog == 2)
            #expect(try await store.communication(id: old.id) == nil)
            #expect(try await store.communication(id: waiting.id) != nil)
            #expect(try await store.communication(id: recent.id) != nil)
            #expect(try await store.purge(before: cutoff, auditBefore: cutoff, limit: 100, dryRun: false).total == 0)
            // The log goes on from where it was: a seq is never handed out twice.
            let next = try communication(client: client)
            guard case .inserted(let change) = try await store.insert(next, attachments: [], leasedTo: nil, fingerprint: nil) else {
                Issue.record("not inserted")
                return
            }
            #expect(change.seq == 6)
            // Nothing of the purged one is left behind: stored again under its id and idempotency
            // key, it is new, with only its own attachment, no attempt and one status.
            #expect(try await store.insert(old, attachments: try plan(), leasedTo: nil, fingerprint: Data([1])).isInserted)
            let again = try #require(try await store.communication(id: old.id))
            #expect(again.attempts.isEmpty && again.events.map(\.status) == [.queued])
            #expect(try await store.export(clientID: client, at: Self.start).attachments.count == 1)
        }
    }
}
