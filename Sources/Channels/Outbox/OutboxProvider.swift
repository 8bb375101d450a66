package import CRMModel
package import Foundation

/// Writes each message to a file instead of sending it: `.eml` for email, `.json` for SMS and
/// WhatsApp. The default for a channel without credentials, so the sidecar runs with no setup and a
/// developer can open what would have been sent.
package struct OutboxProvider: ChannelProvider {
    package let channel: Channel
    package let directory: URL
    package let composer: EmailComposer
    package var name: String { "outbox" }

    package init(channel: Channel, directory: URL, composer: EmailComposer) {
        self.channel = channel
        self.directory = directory
        self.composer = composer
    }

    package func send(_ message: OutboundMessage) async throws(ProviderError) -> ProviderReceipt {
        let id = "\(message.communicationID.canonicalString)-\(message.attempt)"
        let fileName: String
        let bytes: Data
        do {
            switch channel {
            case .email:
                fileName = id + ".eml"
                bytes = Data(try composer.compose(message).serialized())
            case .sms, .whatsapp:
                fileName = id + ".json"
                bytes = try Self.encoder.encode(OutboxTextMessage(message: message))
            }
        } catch let error as ProviderError {
            throw error
        } catch {
            throw ProviderError("cannot encode the message: \(error)", answer: .notSent, providerCode: "unencodable")
        }
        let folder = directory.appendingPathComponent(channel.rawValue, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            // Written to a temporary name and renamed, so a reader never sees half a message.
            try bytes.write(to: folder.appendingPathComponent(fileName), options: .atomic)
        } catch {
            // The folder is where this provider delivers: one it cannot write is a provider not reached.
            throw ProviderError("cannot write to the outbox folder \(folder.path): \(error.localizedDescription)", answer: .noAnswer)
        }
        return ProviderReceipt(providerMessageID: "outbox:\(channel.rawValue)/\(fileName)")
    }

    private static let encoder: JSONEncoder = {
        // Foundation's, for its pretty printing: outbox files are for people to read.
        let encoder = WireJSON.makeFoundationEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

/// The JSON an outbox SMS or WhatsApp file holds.
private struct OutboxTextMessage: Encodable {
    let communicationID: UUID
    let channel: Channel
    let to: String
    let body: String
    let segments: Int
    /// The names of the files the message carries (an SMS as links, WhatsApp as uploads); absent without.
    let attachments: [String]?
    let createdAt: Date

    init(message: OutboundMessage) {
        communicationID = message.communicationID
        channel = message.channel
        to = message.to
        body = message.content.text
        segments = SMSSegments.count(for: message.content.text)
        attachments = message.attachments.isEmpty ? nil : message.attachments.map(\.filename)
        createdAt = Date()
    }

    enum CodingKeys: String, CodingKey {
        case communicationID = "communication_id"
        case channel, to, body, segments, attachments
        case createdAt = "created_at"
    }
}
