import AsyncHTTPClient
package import CRMModel
import Foundation
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

    package init(settings: TwilioSettings) {
        self.settings = settings
        http = ProviderHTTP(service: "Twilio API")
    }

    package func send(_ message: OutboundMessage) async throws(ProviderError) -> ProviderReceipt {
        var fields = [("To", message.to), ("Body", message.content.text)]
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
        guard let created = try? JSONDecoder().decode(Created.self, from: response.body), !created.sid.isEmpty else {
            throw ProviderError("Twilio answered \(response.status) without a message sid", answer: .http(status: response.status))
        }
        return ProviderReceipt(providerMessageID: created.sid)
    }

    /// `crm-sidecar check twilio`: reads the account (`GET /2010-04-01/Accounts/{sid}.json`), which
    /// proves the credentials without sending anything.
    package func check() async throws(ProviderError) -> String {
        var request = HTTPClientRequest(url: "\(settings.apiBaseURL)/2010-04-01/Accounts/\(settings.accountSID).json")
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await http.send(request)
        guard (200..<300).contains(response.status) else { throw Self.failure(response) }
        let account = try? JSONDecoder().decode(Account.self, from: response.body)
        return "account \(settings.accountSID) is \(account?.status ?? "reachable")"
    }

    private var authorization: String {
        "Basic " + Data("\(settings.accountSID):\(settings.authToken)".utf8).base64EncodedString()
    }

    /// A Twilio error answer as facts. Its body is `{"code", "message", "more_info", "status"}`; a body
    /// that is not Twilio's (a proxy's 503 page) leaves only the status.
    static func failure(_ response: ProviderHTTP.Response) -> ProviderError {
        let error = try? JSONDecoder().decode(APIError.self, from: response.body)
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
