import Channels
import CRMModel
import Foundation
import Logging
import Orchestrator
import Persistence
import Synchronization
import Testing

@Suite("Low-urgency messages due together go out as one digest")
struct DigestTests {
    /// Accepts everything and keeps what it was given.
    final class RecordingProvider: ChannelProvider, Sendable {
        let channel: Channel
        let name = "recording"
        let sent = Mutex<[OutboundMessage]>([])

        init(_ channel: Channel) { self.channel = channel }

        func send(_ message: OutboundMessage) async throws(ProviderError) -> ProviderReceipt {
            sent.withLock { $0.append(message) }
            return ProviderReceipt(providerMessageID: "digest-\(message.communicationID.uuidString.prefix(8))")
        }
    }

    struct NoEvents: EngineEventSink {
        func publish(_ event: EngineEvent) async {}
    }

    @Test("one message for the client's due low-urgency messages on the channel, each linked to it")
    func digest() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-digest-\(UUID().uuidString).sqlite").path
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = try SQLiteStore(path: path, cipher: FieldCipher(master: try MasterKey(secret: String(repeating: "k", count: 32))), logger: quiet)
        let now = Date()
        let client = UUID()
        let email = Recipient(email: try EmailAddress(validating: "priya@example.com"))
        let leasing = WorkLeasing(owner: "test", duration: .seconds(30))
        let lease = leasing.lease(from: now)
        func stored(
            _ type: MessageType, client: UUID = client, channels: [Channel] = [.email], recipient: Recipient? = nil, name: String,
            held: Bool = false
        ) async throws -> Communication {
            let request = CommunicationRequest(
                planID: UUID(), clientID: client, messageType: type, urgency: .low, recipient: recipient ?? email,
                context: ["client_name": .string(name), "deadline": .string("Friday")]
            )
            let communication = Communication(
                id: UUID(), request: request, decision: Decision(channels: channels, sendAt: now, priority: 2, reasons: []),
                status: .queued, createdAt: now
            )
            try await store.insert(communication, leasedTo: held ? lease : nil)
            return communication
        }
        // The lead and a companion claimed together, as the send loop would; the third is found by the lead.
        let lead = try await stored(.reminder, name: "Priya", held: true)
        let second = try await stored(.vendorOptions, name: "Priya", held: true)
        let third = try await stored(.budgetSummary, name: "Priya")
        let bySMS = try await stored(.reminder, channels: [.sms, .email], recipient: Recipient(email: email.email, phone: try PhoneNumber(validating: "+919876543210")), name: "Priya")
        let someoneElse = try await stored(.reminder, client: UUID(), name: "Arjun")

        let provider = RecordingProvider(.email)
        let delivery = Delivery(
            store: store, providers: ProviderRegistry([provider, RecordingProvider(.sms)]), renderer: try TemplateRenderer(), events: NoEvents(),
            leasing: leasing, consent: ConsentCache(store: store), rules: DeliveryMachine.Rules(digestWindow: 0), now: { now }, logger: quiet
        )
        let result = try await delivery.deliver(lead, lease: lease, companions: [second])
        #expect(result.status == .sent)

        let messages = provider.sent.withLock { $0 }
        #expect(messages.count == 1)
        let digest = try #require(messages.first)
        #expect(digest.content.subject?.hasPrefix("3 updates: ") == true)
        #expect(digest.content.text.components(separatedBy: "Priya").count - 1 >= 3)
        for member in [lead, second, third] {
            let record = try #require(try await store.communication(id: member.id))
            #expect(record.status == .sent && record.attempts.first?.providerMessageID == "digest-\(lead.id.uuidString.prefix(8))")
        }
        // Not for this channel first, or not this client: left for their own sends, and nobody holds them.
        #expect(try await store.communication(id: bySMS.id)?.status == .queued)
        #expect(try await store.communication(id: someoneElse.id)?.status == .queued)
        let rest = try await store.claimDue(by: now, for: Lease(owner: "other", expiresAt: now.addingTimeInterval(30)), limit: 10)
        #expect(Set(rest.map(\.id)) == [bySMS.id, someoneElse.id])
    }
}
