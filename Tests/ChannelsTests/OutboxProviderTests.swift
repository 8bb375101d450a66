import Channels
import CRMModel
import Foundation
import Testing

@Suite("The outbox provider")
struct OutboxProviderTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)")
    let sender = EmailSender(address: "planner@example.com", name: nil)

    @Test("writes an .eml for email and a .json for text channels, named by communication and attempt")
    func writes() async throws {
        let id = UUID()
        let email = OutboxProvider(channel: .email, directory: folder, composer: EmailComposer(sender: sender, links: nil))
        let receipt = try await email.send(OutboundMessage(
            communicationID: id, attempt: 2, messageType: .welcome, channel: .email, to: "priya@example.com",
            content: RenderedMessage(subject: "Hi", html: "<p>Hi</p>", text: "Hi")
        ))
        #expect(receipt.providerMessageID == "outbox:email/\(id.uuidString.lowercased())-2.eml")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("email/\(id.uuidString.lowercased())-2.eml").path))

        let sms = OutboxProvider(channel: .sms, directory: folder, composer: EmailComposer(sender: sender, links: nil))
        _ = try await sms.send(OutboundMessage(
            communicationID: id, attempt: 3, messageType: .welcome, channel: .sms, to: "+14155552671", content: RenderedMessage(text: "Hi there")
        ))
        let data = try Data(contentsOf: folder.appendingPathComponent("sms/\(id.uuidString.lowercased())-3.json"))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect(json?["to"] as? String == "+14155552671")
        #expect(json?["body"] as? String == "Hi there")
        #expect(json?["segments"] as? Int == 1)
    }

    @Test("a folder it cannot write is a provider not reached")
    func unwritable() async {
        let provider = OutboxProvider(channel: .sms, directory: URL(fileURLWithPath: "/proc/forbidden"), composer: EmailComposer(sender: sender, links: nil))
        await #expect {
            try await provider.send(OutboundMessage(
                communicationID: UUID(), attempt: 1, messageType: .welcome, channel: .sms, to: "+14155552671", content: RenderedMessage(text: "x")
            ))
        } throws: { error in
            (error as? ProviderError)?.answer == .noAnswer
        }
    }
}
