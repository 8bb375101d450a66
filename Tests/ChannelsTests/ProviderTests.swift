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

    @Test("a Twilio refusal is reported as Twilio gave it: its code, the HTTP status, Retry-After", arguments: [
        (400, #"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}"#, "21211"),
        (400, #"{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}"#, "21610"),
        (401, #"{"code": 20003, "message": "Authenticate", "status": 401}"#, "20003"),
        (429, #"{"code": 20429, "message": "Too Many Requests", "status": 429}"#, "20429"),
        (503, "<html>Service Unavailable</html>", nil),
    ] as [(Int, String, String?)])
    func twilioErrors(_ status: Int, _ body: String, _ code: String?) {
        let error = TwilioProvider.failure(response(status, body, headers: [("Retry-After", "7")]))
        #expect(error.answer == .http(status: status) && error.status == status && error.reachedProvider)
        #expect(error.providerCode == code)
        #expect(error.retryAfter == 7)
    }

    @Test("a Meta refusal is reported as Meta gave it: its Graph API code, the HTTP status, the details", arguments: [
        (400, 131047), (400, 131026), (401, 190), (400, 130429), (400, 131056), (500, 131000), (400, 100),
    ])
    func metaErrors(_ status: Int, _ code: Int) {
        let body = #"{"error": {"message": "m", "type": "OAuthException", "code": \#(code), "error_data": {"messaging_product": "whatsapp", "details": "d"}, "fbtrace_id": "x"}}"#
        let error = WhatsAppProvider.failure(response(status, body))
        #expect(error.answer == .http(status: status))
        #expect(error.providerCode == String(code))
        #expect(error.message.contains("(d)"))
        #expect(error.retryAfter == nil)
    }

    @Test("a body that is not Meta's leaves only the status")
    func metaErrorWithoutBody() {
        let error = WhatsAppProvider.failure(response(502, "Bad Gateway", headers: [("Retry-After", "3")]))
        #expect(error.answer == .http(status: 502) && error.providerCode == nil && error.retryAfter == 3)
        #expect(error.description == "the WhatsApp Cloud API answered 502 (HTTP 502)")
    }

    @Test("outside the window with no template for the type, nothing is sent and the code says why")
    func whatsappWithoutTemplate() {
        let settings = WhatsAppSettings(phoneNumberID: "1", accessToken: "t", templates: [:])
        let message = OutboundMessage(
            communicationID: UUID(), attempt: 1, messageType: .reminder, channel: .whatsapp, to: "+919876543210",
            content: RenderedMessage(text: "x"), language: "en", replyWindowOpen: false
        )
        #expect {
            try WhatsAppPayload(message, templates: settings.templates, mediaIDs: [])
        } throws: { error in
            (error as? ProviderError).map { $0.answer == .notSent && $0.providerCode == "no_template" } ?? false
        }
    }

    func whatsapp(window: Bool, context: [String: JSONValue] = [:]) throws -> [String: Any] {
        let message = OutboundMessage(
            communicationID: UUID(), attempt: 1, messageType: .reminder, channel: .whatsapp, to: "+919876543210",
            content: RenderedMessage(text: "Hi Priya, see https://example.com/p"), language: "hi", replyWindowOpen: window,
            context: context
        )
        return try #require(try JSONSerialization.jsonObject(with: try WhatsAppPayload(message, templates: WhatsAppTemplate.seed, mediaIDs: []).encoded()[0]) as? [String: Any])
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

    @Test("libcurl's outcome is reported as facts: the reply code, or what libcurl recognised, or no answer", arguments: [
        (67, 535, ProviderError.Answer.smtp(reply: 535), "login_denied"), (67, 0, .noAnswer, "login_denied"),
        (60, 0, .noAnswer, "tls"), (35, 220, .noAnswer, "tls_handshake"), (64, 0, .noAnswer, "starttls_unavailable"),
        (64, 454, .smtp(reply: 454), "starttls_unavailable"),
        (55, 550, .smtp(reply: 550), "550"), (55, 451, .smtp(reply: 451), "451"),
        (7, 0, .noAnswer, nil), (28, 0, .noAnswer, nil), (56, 354, .noAnswer, nil),
    ] as [(UInt32, Int, ProviderError.Answer, String?)])
    func smtpFailures(_ curl: UInt32, _ reply: Int, _ answer: ProviderError.Answer, _ code: String?) throws {
        let failure = try #require(SMTPProvider.failure(CurlSession.Outcome(curlCode: curl, replyCode: reply, message: "m")))
        #expect(failure.answer == answer)
        #expect(failure.providerCode == code)
    }

    @Test("an accepted transfer is no failure")
    func smtpAccepted() {
        #expect(SMTPProvider.failure(CurlSession.Outcome(curlCode: 0, replyCode: 250, message: "")) == nil)
    }

    @Test("the description carries the message, the code and the status, each once")
    func descriptions() {
        #expect(ProviderError("refused", answer: .smtp(reply: 550), providerCode: "550").description == "refused (code 550)")
        #expect(ProviderError("denied", answer: .smtp(reply: 535), providerCode: "login_denied").description == "denied (code login_denied, SMTP reply 535)")
        #expect(ProviderError("Twilio answered 400", answer: .http(status: 400), providerCode: "21211").description == "Twilio answered 400 (code 21211, HTTP 400)")
        #expect(ProviderError("cannot reach", answer: .noAnswer).description == "cannot reach")
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
