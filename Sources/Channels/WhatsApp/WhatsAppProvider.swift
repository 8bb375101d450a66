import AsyncHTTPClient
package import CRMModel
import Foundation
import NIOCore
import NIOHTTP1

/// WhatsApp through Meta's Cloud API: `POST /{version}/{phone-number-id}/messages` with a bearer token.
///
/// Inside the 24-hour customer-service window (the client wrote to us) the rendered text goes as a
/// text message; outside it WhatsApp accepts only approved templates, so the message type's template
/// goes, filled from the context. The returned `messages[0].id` (a `wamid`) is the provider message
/// id its status webhooks refer to. A refusal is reported as Meta gave it, its Graph API error code
/// (`131047`, `190`, ...), the HTTP status and `Retry-After`; the policy's error table
/// (`ErrorClasses`) says what each means.
package struct WhatsAppProvider: ChannelProvider {
    package let channel = Channel.whatsapp
    package var name: String { "whatsapp" }

    private let settings: WhatsAppSettings
    private let http: ProviderHTTP

    /// Meta caps a text message's body at 4096 characters.
    static let maxTextLength = 4096

    package init(settings: WhatsAppSettings) {
        self.settings = settings
        http = ProviderHTTP(service: "WhatsApp Cloud API")
    }

    package func send(_ message: OutboundMessage) async throws(ProviderError) -> ProviderReceipt {
        let body = try payload(for: message)
        var request = HTTPClientRequest(url: settings.messagesURL)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(settings.accessToken)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.send(request)
        guard (200..<300).contains(response.status) else { throw Self.failure(response) }
        guard let sent = try? JSONDecoder().decode(Sent.self, from: response.body), let id = sent.messages.first?.id else {
            throw ProviderError("the WhatsApp Cloud API answered \(response.status) without a message id", answer: .http(status: response.status))
        }
        return ProviderReceipt(providerMessageID: id)
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
        let number = try? JSONDecoder().decode(PhoneNumber.self, from: response.body)
        return "sending number \(number?.displayPhoneNumber ?? settings.phoneNumberID)"
            + (number?.verifiedName.map { " (\($0))" } ?? "")
    }

    /// The JSON body: a text message inside the window, the type's template outside it.
    func payload(for message: OutboundMessage) throws(ProviderError) -> Data {
        var outgoing = Outgoing(to: message.to.hasPrefix("+") ? String(message.to.dropFirst()) : message.to)
        if message.replyWindowOpen {
            outgoing.type = "text"
            let body = String(message.content.text.prefix(Self.maxTextLength))
            outgoing.text = .init(previewURL: body.contains("https://"), body: body)
        } else {
            guard let template = settings.templates[message.messageType] else {
                throw ProviderError(
                    "outside the 24-hour window WhatsApp needs an approved template, and the policy names none for \(message.messageType.rawValue)",
                    answer: .notSent, providerCode: "no_template"
                )
            }
            let parameters = template.parameters.map { key in
                // Meta refuses an empty parameter; a missing value reads as a dash.
                let text = message.context[key].map(Self.text(of:)) ?? ""
                return Outgoing.Parameter(text: text.isEmpty ? "-" : text)
            }
            outgoing.type = "template"
            outgoing.template = .init(
                name: template.name, language: .init(code: template.language ?? message.language),
                components: parameters.isEmpty ? nil : [.init(parameters: parameters)]
            )
        }
        do {
            return try JSONEncoder().encode(outgoing)
        } catch {
            throw ProviderError("cannot encode the WhatsApp message", answer: .notSent, providerCode: "unencodable")
        }
    }

    /// A context value as a template parameter: text as it is, numbers plainly, lists joined.
    static func text(of value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .array(let items): items.map(text(of:)).filter { !$0.isEmpty }.joined(separator: ", ")
        case .null: ""
        default: value.plainValue.map { "\($0)" } ?? ""
        }
    }

    /// A Graph API error answer as facts. Its body is `{"error": {"message", "type", "code",
    /// "error_subcode", "error_data": {"details"}, "fbtrace_id"}}`; a body that is not Meta's leaves
    /// only the status.
    static func failure(_ response: ProviderHTTP.Response) -> ProviderError {
        let error = (try? JSONDecoder().decode(GraphError.self, from: response.body))?.error
        var detail = "the WhatsApp Cloud API answered \(response.status)"
        if let message = error?.message { detail += ": \(Redaction.redact(message))" }
        if let details = error?.errorData?.details { detail += " (\(Redaction.redact(details)))" }
        return ProviderError(
            detail, answer: .http(status: response.status), providerCode: error?.code.map(String.init),
            retryAfter: response.retryAfter
        )
    }

    /// A message as the Cloud API takes it.
    struct Outgoing: Encodable {
        struct Text: Encodable {
            var previewURL: Bool
            var body: String
            enum CodingKeys: String, CodingKey {
                case previewURL = "preview_url"
                case body
            }
        }
        struct Template: Encodable {
            struct Language: Encodable { var code: String }
            struct Component: Encodable {
                var type = "body"
                var parameters: [Parameter]
            }
            var name: String
            var language: Language
            var components: [Component]?
        }
        struct Parameter: Encodable {
            var type = "text"
            var text: String
        }

        var messagingProduct = "whatsapp"
        var recipientType = "individual"
        var to: String
        var type = "text"
        var text: Text?
        var template: Template?

        enum CodingKeys: String, CodingKey {
            case messagingProduct = "messaging_product"
            case recipientType = "recipient_type"
            case to, type, text, template
        }
    }

    private struct Sent: Decodable {
        struct Message: Decodable { var id: String }
        var messages: [Message]
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
