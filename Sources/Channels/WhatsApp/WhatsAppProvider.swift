import AsyncHTTPClient
package import CRMModel
package import Foundation
import NIOCore
import NIOHTTP1

/// WhatsApp through Meta's Cloud API: `POST /{version}/{phone-number-id}/messages` with a bearer token.
///
/// Inside the 24-hour customer-service window (the client wrote to us) the rendered text goes as a
/// text message, the attachments as documents and images, the options as an interactive list or
/// buttons; outside it WhatsApp accepts only approved templates, so the message type's template
/// goes, filled from the context (`WhatsAppPayload` decides). Attachments are uploaded first
/// (`POST /{phone-number-id}/media`, multipart), once per file for as long as Meta keeps them
/// (`WhatsAppMediaCache`). The `wamid` of the message's own message is the provider message id its
/// status webhooks and the client's replies refer to. A refusal is reported as Meta gave it, its
/// Graph API error code (`131047`, `190`, ...), the HTTP status and `Retry-After`; the policy's
/// error table (`ErrorClasses`) says what each means.
package struct WhatsAppProvider: ChannelProvider {
    package let channel = Channel.whatsapp
    package var name: String { "whatsapp" }

    private let settings: WhatsAppSettings
    private let http: ProviderHTTP
    private let media: WhatsAppMediaCache
    private let now: @Sendable () -> Date

    package init(settings: WhatsAppSettings, media: WhatsAppMediaCache = WhatsAppMediaCache(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        http = ProviderHTTP(service: "WhatsApp Cloud API")
        self.media = media
        self.now = now
    }

    package func send(_ message: OutboundMessage) async throws(ProviderError) -> ProviderReceipt {
        if !message.replyWindowOpen {
            _ = try WhatsAppPayload.approvedTemplate(for: message, templates: settings.templates)
        }
        var ids: [String] = []
        for file in message.attachments {
            ids.append(try await upload(file))
        }
        let payload = try WhatsAppPayload(message, templates: settings.templates, mediaIDs: ids)
        let bodies = try payload.encoded()
        do {
            for (part, body) in zip(payload.messages, bodies).dropLast() {
                // A file this sidecar already delivered for the communication (an earlier attempt
                // failed after it) is not sent again.
                let key = "\(message.communicationID)|\(part.document?.id ?? part.image?.id ?? "")"
                if media.wasSent(key) { continue }
                _ = try await post(body)
                media.rememberSent(key)
            }
            return ProviderReceipt(providerMessageID: try await post(bodies[payload.primary]))
        } catch {
            // Meta no longer knows an uploaded file (131053, media upload error): upload afresh next time.
            if error.providerCode == "131053" { message.attachments.forEach(media.forget) }
            throw error
        }
    }

    /// One message posted; its `wamid`, nil when the 2xx that took it named none we could read.
    private func post(_ body: Data) async throws(ProviderError) -> String? {
        var request = HTTPClientRequest(url: settings.messagesURL)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(settings.accessToken)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.send(request)
        guard (200..<300).contains(response.status) else { throw Self.failure(response) }
        // A 2xx is Meta's word that it took the message, even when the answer's body cannot be read.
        return BoundedJSON.decode(Sent.self, from: response.body)?.messages.first?.id
    }

    /// The media id of `file`: the one uploaded before, while Meta still keeps it, or a new upload.
    /// A file WhatsApp cannot carry is refused here, so the next channel takes the message.
    private func upload(_ file: Attachment) async throws(ProviderError) -> String {
        if let problem = WhatsAppMedia.problem(with: file) {
            throw ProviderError("an attachment \(problem)", answer: .notSent, providerCode: "unsupported_media")
        }
        if let id = media.id(of: file, at: now()) { return id }
        var form = MultipartForm()
        form.add("messaging_product", "whatsapp")
        form.add("type", file.contentType)
        form.add("file", filename: file.filename, contentType: file.contentType, data: file.data)
        var request = HTTPClientRequest(url: settings.mediaURL)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(settings.accessToken)")
        request.headers.add(name: "Content-Type", value: form.contentType)
        request.body = .bytes(ByteBuffer(bytes: form.finished))
        let response = try await http.send(request)
        guard (200..<300).contains(response.status) else { throw Self.failure(response) }
        guard let uploaded = BoundedJSON.decode(Uploaded.self, from: response.body), !uploaded.id.isEmpty else {
            throw ProviderError("the WhatsApp Cloud API answered \(response.status) to an upload without a media id", answer: .http(status: response.status))
        }
        media.remember(uploaded.id, for: file, at: now())
        return uploaded.id
    }

    /// `crm-sidecar check whatsapp`: reads the sending number (`GET /{version}/{phone-number-id}`),
    /// which proves the token and the id without sending anything.
    package func check() async throws(ProviderError) -> String {
        var request = HTTPClientRequest(
            url: "\(settings.apiBaseURL)/\(settings.apiVersion)/\(settings.phoneNumberID)?fields=display_phone_number,verified_name"
        )
        request.headers.add(name: "Authorization", value: "Bearer \(settings.accessToken)")
        let response = try await http.send(request)
        guard (200..<300).contains(response.status) else { throw Self.failure(response) }
        let number = BoundedJSON.decode(PhoneNumber.self, from: response.body)
        return "sending number \(number?.displayPhoneNumber ?? settings.phoneNumberID)"
            + (number?.verifiedName.map { " (\($0))" } ?? "")
    }

    /// A Graph API error answer as facts. Its body is `{"error": {"message", "type", "code",
    /// "error_subcode", "error_data": {"details"}, "fbtrace_id"}}`; a body that is not Meta's leaves
    /// only the status.
    static func failure(_ response: ProviderHTTP.Response) -> ProviderError {
        let error = BoundedJSON.decode(GraphError.self, from: response.body)?.error
        var detail = "the WhatsApp Cloud API answered \(response.status)"
        if let message = error?.message { detail += ": \(Redaction.redact(message))" }
        if let details = error?.errorData?.details { detail += " (\(Redaction.redact(details)))" }
        return ProviderError(
            detail, answer: .http(status: response.status), providerCode: error?.code.map(String.init),
            retryAfter: response.retryAfter
        )
    }

    private struct Sent: Decodable {
        struct Message: Decodable { var id: String }
        var messages: [Message]
    }

    private struct Uploaded: Decodable {
        var id: String
    }

    private struct PhoneNumber: Decodable {
        var displayPhoneNumber: String?
        var verifiedName: String?
        enum CodingKeys: String, CodingKey {
            case displayPhoneNumber = "display_phone_number"
            case verifiedName = "verified_name"
        }
    }

    private struct GraphError: Decodable {
        struct Body: Decodable {
            struct Details: Decodable { var details: String? }
            var message: String?
            var code: Int?
            var errorData: Details?
            enum CodingKeys: String, CodingKey {
                case message, code
                case errorData = "error_data"
            }
        }
        var error: Body
    }
}
