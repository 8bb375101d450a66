import Channels
import CRMModel
import Crypto
import Foundation
import Testing

@Suite("What providers post back: signatures, receipts, replies")
struct WebhookParsingTests {
    // twilio-python's own test vector (tests/unit/test_request_validator.py).
    let validator = TwilioSignature(authToken: "12345")
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    let form = Data("CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212".utf8)

    @Test("Twilio's signature, with and without the default port, over form and JSON bodies")
    func twilioSignature() {
        let contentType = "application/x-www-form-urlencoded"
        #expect(validator.isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, body: form, contentType: contentType))
        // Signed as https://mycompany.com:443/...: Twilio signs either way.
        #expect(validator.isValid(signature: "kvajT1Ptam85bY51eRf/AJRuM3w=", url: url, body: form, contentType: contentType))
        #expect(!validator.isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, body: form + Data("&x=1".utf8), contentType: contentType))
        #expect(!validator.isValid(signature: "", url: url, body: form, contentType: contentType))

        let json = Data(#"{"property": "value", "boolean": true}"#.utf8)
        let signed = url + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        #expect(validator.isValid(signature: "a9nBmqA0ju/hNViExpshrM61xv4=", url: signed, body: json, contentType: "application/json"))
        #expect(!validator.isValid(signature: "a9nBmqA0ju/hNViExpshrM61xv4=", url: signed, body: json + Data(" ".utf8), contentType: "application/json"))
    }

    @Test("Meta's X-Hub-Signature-256 is the hex HMAC-SHA256 of the raw body")
    func hubSignature() {
        let signature = WhatsAppSignature(appSecret: "secret")
        let body = Data(#"{"object":"whatsapp_business_account"}"#.utf8)
        #expect(signature.isValid(header: signature.sign(body), body: body))
        #expect(signature.isValid(header: signature.sign(body).uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="), body: body))
        #expect(!signature.isValid(header: signature.sign(body), body: body + Data(" ".utf8)))
        #expect(!signature.isValid(header: nil, body: body))
    }

    @Test("Twilio statuses in ours; what adds nothing is dropped")
    func twilioCallback() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let delivered = TwilioCallback.events(from: [("MessageSid", "SM1"), ("MessageStatus", "delivered")], receivedAt: now)
        #expect(delivered == [.report(DeliveryReport(channel: .sms, providerMessageID: "SM1", status: .delivered, at: now))])
        #expect(TwilioCallback.events(from: [("MessageSid", "SM1"), ("MessageStatus", "sent")], receivedAt: now).isEmpty)
        let failed = TwilioCallback.events(
            from: [("MessageSid", "SM1"), ("MessageStatus", "undelivered"), ("ErrorCode", "30006"), ("To", "+14155550100")], receivedAt: now
        )
        #expect(failed == [.report(DeliveryReport(channel: .sms, providerMessageID: "SM1", status: .failed, at: now, error: "Twilio error 30006", providerCode: "30006"))])
        let inbound = TwilioCallback.events(
            from: [("MessageSid", "SM2"), ("SmsStatus", "received"), ("From", "whatsapp:+14155550100"), ("Body", "STOP")], receivedAt: now
        )
        #expect(inbound == [.inbound(InboundMessage(channel: .whatsapp, from: "+14155550100", text: "STOP", providerMessageID: "SM2", at: now))])
    }

    @Test("Meta's batched statuses and messages, each at its own time; unknown kinds skipped")
    func whatsAppNotification() throws {
        let body = #"""
            {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
              "messaging_product":"whatsapp","metadata":{"phone_number_id":"2"},
              "statuses":[{"id":"wamid.A","status":"read","timestamp":"1800000100","recipient_id":"919876543210"},
                          {"id":"wamid.A","status":"sent","timestamp":"1800000000"},
                          {"id":"wamid.B","status":"failed","timestamp":"1800000200","errors":[{"code":131047,"title":"Re-engagement message"}]},
                          {"id":"wamid.C","status":"deleted","timestamp":"1800000300"}],
              "messages":[{"from":"919876543210","id":"wamid.I","timestamp":"1800000400","type":"interactive",
                           "interactive":{"type":"button_reply","button_reply":{"id":"b1","title":"Option 2"}}},
                          {"from":"919876543210","id":"wamid.J","timestamp":"1800000500","type":"sticker","sticker":{}}]
            }}]}]}
            """#
        let events = try JSONDecoder().decode(WhatsAppNotification.self, from: Data(body.utf8)).events(receivedAt: Date())
        #expect(events == [
            .report(DeliveryReport(channel: .whatsapp, providerMessageID: "wamid.A", status: .opened, at: Date(timeIntervalSince1970: 1_800_000_100))),
            .report(DeliveryReport(
                channel: .whatsapp, providerMessageID: "wamid.B", status: .failed, at: Date(timeIntervalSince1970: 1_800_000_200),
                error: "WhatsApp error 131047: Re-engagement message", providerCode: "131047"
            )),
            .inbound(InboundMessage(
                channel: .whatsapp, from: "+919876543210", text: "Option 2", providerMessageID: "wamid.I", at: Date(timeIntervalSince1970: 1_800_000_400),
                selection: Selection(id: "b1", title: "Option 2")
            )),
            .inbound(InboundMessage(channel: .whatsapp, from: "+919876543210", text: "", providerMessageID: "wamid.J", at: Date(timeIntervalSince1970: 1_800_000_500))),
        ])
    }

    @Test("intents on whole words", arguments: [
        ("Yes!", ReplyIntent(.confirmation)),
        ("Sounds good to me", ReplyIntent(.confirmation)),
        ("yesterday was fine", ReplyIntent(.unknown)),
        ("I know", ReplyIntent(.unknown)),
        ("No, not this one", ReplyIntent(.rejection)),
        ("that's not ok", ReplyIntent(.rejection)),
        ("don't book it", ReplyIntent(.rejection)),
        ("yes and no", ReplyIntent(.unknown)),
        ("2", ReplyIntent(.selection, selection: 2)),
        ("I pick 3", ReplyIntent(.selection, selection: 3)),
        ("#1 please", ReplyIntent(.selection, selection: 1)),
        ("we are 150 guests", ReplyIntent(.unknown)),
        ("HELP", ReplyIntent(.help)),
        ("?", ReplyIntent(.help)),
        ("", ReplyIntent(.unknown)),
    ])
    func intents(_ text: String, _ expected: ReplyIntent) {
        #expect(ReplyIntent.classify(text) == expected)
    }

    @Test("consent keywords are the whole message")
    func consentKeywords() {
        #expect(ConsentKeyword(message: " Stop. ") == .optOut)
        #expect(ConsentKeyword(message: "UNSUBSCRIBE") == .optOut)
        #expect(ConsentKeyword(message: "stop all") == .optOut)
        #expect(ConsentKeyword(message: "START") == .optIn)
        #expect(ConsentKeyword(message: "please stop the music") == nil)
        #expect(ConsentKeyword(message: "yes") == nil)
    }

    @Test("links in an email go through the click redirect, signed with their target")
    func emailTracking() throws {
        let links = EmailLinks(baseURL: "https://crm.example.com/", key: .init(size: .bits256))
        let id = UUID()
        let composer = EmailComposer(sender: EmailSender(address: "events@example.com", name: "Planiva"), links: links)
        let message = composer.compose(OutboundMessage(
            communicationID: id, attempt: 1, messageType: .blueprintDelivery, channel: .email, to: "priya@example.com",
            content: RenderedMessage(subject: "s", html: #"<html><body><a href="https://x.example/b?v=1&amp;w=2">b</a></body></html>"#, text: "t")
        ))
        let html = try #require(message.content.html)
        let click = try #require(html.firstMatch(of: /href="(https:\/\/crm\.example\.com\/email\/click\/([^?"]+)\?u=([^"]+))"/))
        #expect(links.verify(String(click.output.2), .click, target: "https://x.example/b?v=1&w=2") == id)
        #expect(String(click.output.3) == "https%3A%2F%2Fx.example%2Fb%3Fv%3D1%26w%3D2")
        #expect(html.contains(#"<img src="https://crm.example.com/email/open/"#))
        #expect(html.contains(links.unsubscribeURL(for: id)))
        #expect(html.hasSuffix("</body></html>"))
        // The plain text keeps its links and gets the unsubscribe link as a footer.
        #expect(message.content.text == "t\n\n-- \nUnsubscribe: \(links.unsubscribeURL(for: id))")
    }

    @Test("every email's footer carries the sender's postal address, in HTML and in text (CAN-SPAM)")
    func postalAddress() throws {
        let sender = EmailSender(address: "events@example.com", name: "Planiva", postalAddress: "Planiva Events, 1 Main St, Springfield <IL>")
        let message = OutboundMessage(
            communicationID: UUID(), attempt: 1, messageType: .reminder, channel: .email, to: "priya@example.com",
            content: RenderedMessage(subject: "s", html: "<html><body><p>Hi</p></body></html>", text: "Hi")
        )
        for links in [EmailLinks(baseURL: "https://crm.example.com", key: .init(size: .bits256)), nil] {
            let composed = EmailComposer(sender: sender, links: links).compose(message)
            #expect(composed.content.text.contains("\n-- \nPlaniva Events, 1 Main St, Springfield <IL>"))
            let html = try #require(composed.content.html)
            #expect(html.contains("Planiva Events, 1 Main St, Springfield &lt;IL&gt;"))
            #expect(html.hasSuffix("</body></html>"))
        }
        let unsigned = EmailComposer(sender: EmailSender(address: "events@example.com", name: nil), links: nil).compose(message)
        #expect(unsigned.content.text == "Hi")
    }
}
