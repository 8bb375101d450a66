@testable import Channels
import CRMModel
import Crypto
import Foundation
import NIOHTTP1
import Testing

/// How each provider reads its provider's answers, and what it sends, without a network: the contract
/// tests (Tests/contract/test_channels.py) hold the same against servers speaking the real protocols.
@Suite("Providers")
struct ProviderTests {
    func response(_ status: Int, _ body: String, headers: [(String, String)] = []) -> ProviderHTTP.Response {
        ProviderHTTP.Response(status: status, headers: HTTPHeaders(headers), body: Data(body.utf8))
    }

    @Test("Twilio's documented error codes and statuses decide the class", arguments: [
        (400, #"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}"#, ProviderError.Category.invalidRecipient, "21211"),
        (400, #"{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}"#, .permanent, "21610"),
        (401, #"{"code": 20003, "message": "Authenticate", "status": 401}"#, .auth, "20003"),
        (429, #"{"code": 20429, "message": "Too Many Requests", "status": 429}"#, .rateLimited, "20429"),
        (503, "<html>Service Unavailable</html>", .transient, "503"),
    ])
    func twilioErrors(_ status: Int, _ body: String, _ category: ProviderError.Category, _ code: String) {
        let error = TwilioProvider.failure(response(status, body, headers: [("Retry-After", "7")]))
        #expect(error.category == category)
        #expect(error.providerCode == code)
        #expect(error.retryAfter == 7)
    }

    @Test("Meta's documented error codes decide the class", arguments: [
        (400, 131047, ProviderError.Category.permanent), (400, 131026, .invalidRecipient), (401, 190, .auth),
        (400, 130429, .rateLimited), (400, 131056, .rateLimited), (500, 131000, .transient), (400, 100, .permanent),
    ])
    func metaErrors(_ status: Int, _ code: Int, _ category: ProviderError.Category) {
        let body = #"{"error": {"message": "m", "type": "OAuthException", "code": \#(code), "error_data": {"messaging_product": "whatsapp", "details": "d"}, "fbtrace_id": "x"}}"#
        let error = WhatsAppProvider.failure(response(status, body))
        #expect(error.category == category)
        #expect(error.providerCode == String(code))
        #expect(error.message.contains("(d)"))
    }

    func whatsapp(window: Bool, context: [String: JSONValue] = [:]) throws -> [String: Any] {
        let provider = WhatsAppProvider(settings: WhatsAppSettings(phoneNumberID: "1", accessToken: "t"))
        let message = OutboundMessage(
            communicationID: UUID(), attempt: 1, messageType: .reminder, channel: .whatsapp, to: "+919876543210",
            content: RenderedMessage(text: "Hi Priya, see https://example.com/p"), language: "hi", replyWindowOpen: window,
            context: context
        )
        return try #require(try JSONSerialization.jsonObject(with: try provider.payload(for: message)) as? [String: Any])
    }

    @Test("inside the 24-hour window a text message goes; outside it, the type's template with its parameters")
    func whatsappPayloads() throws {
        let text = try whatsapp(window: true)
        #expect(text["type"] as? String == "text" && text["to"] as? String == "919876543210")
        #expect((text["text"] as? [String: Any])?["body"] as? String == "Hi Priya, see https://example.com/p")
        #expect((text["text"] as? [String: Any])?["preview_url"] as? Bool == true)

        let template = try whatsapp(window: false, context: ["client_name": .string("Priya"), "deadline": .string("Friday")])
        let body = try #require(template["template"] as? [String: Any])
        #expect(template["type"] as? String == "template" && body["name"] as? String == "reminder")
        #expect((body["language"] as? [String: Any])?["code"] as? String == "hi")
        let parameters = try #require(((body["components"] as? [[String: Any]])?.first)?["parameters"] as? [[String: Any]])
        #expect(parameters.map { $0["text"] as? String } == ["Priya", "Friday"])
    }

    @Test("libcurl's outcome becomes the error class: reply codes, login, TLS, no answer", arguments: [
        (67, 535, ProviderError.Category.auth), (60, 0, .auth), (64, 0, .auth), (55, 550, .permanent), (55, 451, .transient),
        (7, 0, .transient), (28, 0, .transient), (0, 250, nil),
    ] as [(UInt32, Int, ProviderError.Category?)])
    func smtpFailures(_ curl: UInt32, _ reply: Int, _ category: ProviderError.Category?) {
        let failure = SMTPProvider.failure(CurlSession.Outcome(curlCode: curl, replyCode: reply, message: "m"))
        #expect(failure?.category == category)
        if reply >= 400 { #expect(failure?.providerCode == String(reply)) }
    }

    @Test("addresses a provider echoes back are not kept")
    func redaction() {
        let error = TwilioProvider.failure(response(400, #"{"code": 21211, "message": "The 'To' number +1 500-555-0001 is not a valid phone number."}"#))
        #expect(error.message == "Twilio answered 400: The 'To' number [number] is not a valid phone number.")
        #expect(Redaction.redact("550 <priya.s@example.co.in> unknown, code 21211") == "550 <[address]> unknown, code 21211")
    }

    @Test("form encoding as Twilio reads it: spaces as +, UTF-8 percent-encoded")
    func formEncoding() {
        #expect(FormEncoding.encode([("To", "+919876543210"), ("Body", "Hi Ann & Raj ₹ 100%")])
            == "To=%2B919876543210&Body=Hi+Ann+%26+Raj+%E2%82%B9+100%25")
    }
}

@Suite("Email links")
struct EmailLinksTests {
    let links = EmailLinks(baseURL: "https://crm.example.com/", key: .init(size: .bits256))

    @Test("a token names its communication and verifies only for its purpose, key and target")
    func tokens() throws {
        let id = UUID()
        let url = links.unsubscribeURL(for: id)
        #expect(url.hasPrefix("https://crm.example.com/email/unsubscribe/"))
        let token = String(url.split(separator: "/").last!)
        #expect(links.verify(token, .unsubscribe) == id)
        #expect(links.verify(token, .open) == nil)
        #expect(EmailLinks(baseURL: "https://crm.example.com", key: .init(size: .bits256)).verify(token, .unsubscribe) == nil)
        let click = links.token(.click, for: id, target: "https://a.example/x")
        #expect(links.verify(click, .click, target: "https://a.example/x") == id)
        #expect(links.verify(click, .click, target: "https://evil.example/x") == nil)
        var altered = Array(token)
        altered[20] = altered[20] == "A" ? "B" : "A"
        #expect(links.verify(String(altered), .unsubscribe) == nil)
        #expect(links.verify("not a token", .unsubscribe) == nil)
    }
}
