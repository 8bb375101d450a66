import AsyncHTTPClient
package import CRMModel
package import Foundation
import NIOCore
import NIOHTTP1

/// SMS through Twilio's Programmable Messaging API: `POST /2010-04-01/Accounts/{sid}/Messages.json`,
/// form-encoded, with HTTP basic auth (account SID and auth token). Twilio's `sid` for the message is
/// the provider message id its status callbacks refer to.
///
/// A refusal is reported as Twilio gave it, its error code (`21211`, `20003`, ...), the HTTP status
/// and `Retry-After`; the policy's error table (`ErrorClasses`) says what each means.
package struct TwilioProvider: ChannelProvider {
    package let channel = Channel.sms
    package var name: String { "twilio" }

    private let settings: TwilioSettings
    private let http: ProviderHTTP
    private let links: EmailLinks?
    private let attachments: SMSAttachments
    private let now: @Sendable () -> Date

    /// Twilio refuses a body over 1600 characters (error 21617).
    static let maxBody = 1600

    /// - Parameter links: signs the links to attachments; without it an SMS goes without them.
    package init(
        settings: TwilioSettings, links: EmailLinks? = nil, attachments: SMSAttachments = SMSAttachments(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.settings = settings
        http = ProviderHTTP(service: "Twilio API")
        self.links = links
        self.attachments = attachments
        self.now = now
    }

    package func send(_ message: OutboundMessage) async throws(ProviderError) -> ProviderReceipt {
        try await post(fields(for: message))
    }

    /// The form Twilio gets: the text, and each attachment as a link in it or as an MMS `MediaUrl`.
    package func fields(for message: OutboundMessage) -> [(String, String)] {
        var body = message.content.text
        var media: [String] = []
        if let links, !message.attachments.isEmpty {
            let expiresAt = now().addingTimeInterval(attachments.linkLifetime)
            var lines: [String] = []
            var mediaBytes = 0
            for (file, origin) in zip(message.attachments, message.attachmentOrigins) {
                let url = links.attachmentURL(for: origin.communicationID, position: origin.position, filename: file.filename, expiresAt: expiresAt)
                // What MMS cannot take (more than 10 files, more than 5 MB in all) goes as a link.
                if attachments.mms && media.count < SMSAttachments.maxMedia && mediaBytes + file.data.count <= SMSAttachments.maxMediaBytes {
                    media.append(url)
                    mediaBytes += file.data.count
                } else {
                    lines.append("\(file.filename): \(url)")
                }
            }
            if !lines.isEmpty {
                // The links must arrive whole; the text gives way, on a word boundary, if both do not
                // fit in Twilio's 1,600 characters. (Links alone over that are refused by Twilio, 21617.)
                let links = lines.joined(separator: "\n")
                let room = Self.maxBody - links.count - 2
                if body.count > room { body = room > 0 ? ChoiceOption.shortened(body, to: room) : "" }
                body = body.isEmpty ? links : body + "\n\n" + links
            }
        }
        var fields = [("To", message.to), ("Body", body)]
        fields += media.map { ("MediaUrl", $0) }
        return fields
    }

    private func post(_ fields: [(String, String)]) async throws(ProviderError) -> ProviderReceipt {
        var fields = fields
        if let service = settings.messagingServiceSID {
            fields.append(("MessagingServiceSid", service))
        } else if let from = settings.from {
            fields.append(("From", from))
        }
        if let callback = settings.statusCallbackURL {
            fields.append(("StatusCallback", callback))
        }
        var request = HTTPClientRequest(url: settings.messagesURL)
        request.method = .POST
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields)))
        let response = try await http.send(request)
        guard (200..<300).contains(response.status) else { throw Self.failure(response) }
        // A 2xx is Twilio's word that it took the message, even when the answer's body cannot be read.
        let created = BoundedJSON.decode(Created.self, from: response.body)
        return ProviderReceipt(providerMessageID: created.flatMap { $0.sid.isEmpty ? nil : $0.sid })
    }

    /// `crm-sidecar check twilio`: reads the account (`GET /2010-04-01/Accounts/{sid}.json`), which
    /// proves the credentials without sending anything.
    package func check() async throws(ProviderError) -> String {
        var request = HTTPClientRequest(url: "\(settings.apiBaseURL)/2010-04-01/Accounts/\(settings.accountSID).json")
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await http.send(request)
        guard (200..<300).contains(response.status) else { throw Self.failure(response) }
        let account = BoundedJSON.decode(Account.self, from: response.body)
        return "account \(settings.accountSID) is \(account?.status ?? "reachable")"
    }

    private var authorization: String {
        "Basic " + Data("\(settings.accountSID):\(settings.authToken)".utf8).base64EncodedString()
    }

    /// A Twilio error answer as facts. Its body is `{"code", "message", "more_info", "status"}`; a body
    /// that is not Twilio's (a proxy's 503 page) leaves only the status.
    static func failure(_ response: ProviderHTTP.Response) -> ProviderError {
        let error = BoundedJSON.decode(APIError.self, from: response.body)
        let detail = "Twilio answered \(response.status)" + (error?.message.map { ": \(Redaction.redact($0))" } ?? "")
        return ProviderError(
            detail, answer: .http(status: response.status), providerCode: error?.code.map(String.init),
            retryAfter: response.retryAfter
        )
    }

    private struct Created: Decodable {
        var sid: String
    }

    private struct Account: Decodable {
        var status: String?
    }

    private struct APIError: Decodable {
        var code: Int?
        var message: String?
    }
}
