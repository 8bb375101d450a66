@testable import Channels
import CRMModel
import Crypto
import Foundation
import Testing

/// What rich messages become at the providers, without a network: WhatsApp lists, buttons, documents
/// and images, SMS links to attachments, and the choices that come back. The contract tests
/// (Tests/contract/test_rich_messages.py) hold the same against peers checking Meta's and Twilio's
/// documented shapes.
@Suite("Rich messages")
struct RichMessageTests {
    let renderer = try! TemplateRenderer()

    func message(
        _ type: MessageType, window: Bool, context: [String: JSONValue], attachments: [CRMModel.Attachment] = [], channel: Channel = .whatsapp
    ) -> OutboundMessage {
        OutboundMessage(
            communicationID: UUID(), attempt: 1, messageType: type, channel: channel, to: "+919876543210",
            content: renderer.render(type, for: channel, context: context), attachments: attachments,
            attachmentOrigins: attachments.indices.map { AttachmentOrigin(communicationID: UUID(), position: $0) },
            replyWindowOpen: window, context: context
        )
    }

    func json(_ payload: WhatsAppPayload) throws -> [[String: Any]] {
        try payload.encoded().map { try #require(try JSONSerialization.jsonObject(with: $0) as? [String: Any]) }
    }

    func options(_ titles: [String]) -> JSONValue {
        .array(titles.enumerated().map { .object(["id": .string("opt-\($0 + 1)"), "title": .string($1)]) })
    }

    @Test("a title is shortened on a word boundary, with an ellipsis, within the limit")
    func shortening() {
        #expect(ChoiceOption.shortened("Ballroom", to: 24) == "Ballroom")
        #expect(ChoiceOption.shortened("Garden package with live band and fireworks", to: 24) == "Garden package with…")
        #expect(ChoiceOption.shortened("Supercalifragilisticexpialidocious", to: 20) == "Supercalifragilisti…")
        #expect(ChoiceOption.shortened("Garden, with band", to: 10) == "Garden…")
        for limit in [5, 20, 24, 72] {
            #expect(ChoiceOption.shortened(String(repeating: "word ", count: 30), to: limit).count <= limit)
        }
    }

    @Test("vendor options without options of their own offer the vendor combinations, numbered in the text")
    func derivedOptions() {
        let context: [String: JSONValue] = ["client_name": .string("Priya"), "vendor_combinations": .array([
            .object(["name": .string("Garden"), "total_cost": .int(450_000)]), .object(["id": .string("ball"), "name": .string("Ballroom")]),
        ])]
        let rendered = renderer.render(.vendorOptions, for: .whatsapp, context: context)
        // One combination without an id: all are numbered, as the text numbers them.
        #expect(rendered.options == [ChoiceOption(id: "1", title: "Garden", description: "450000"), ChoiceOption(id: "2", title: "Ballroom")])
        let named: [String: JSONValue] = ["vendor_combinations": .array([
            .object(["id": .string("garden"), "name": .string("Garden")]), .object(["id": .string("ball"), "name": .string("Ballroom")]),
        ])]
        #expect(ChoiceOption.options(in: named, for: .vendorOptions).map(\.id) == ["garden", "ball"])
        #expect(rendered.text.contains("1. Garden: 450000\n2. Ballroom\n"))
        #expect(rendered.interactiveText == "Hi Priya! Here are your vendor options. Tap below to choose one.")
        #expect(rendered.missingVariables.isEmpty)
        #expect(renderer.render(.selectionConfirmation, for: .whatsapp, context: [:]).missingVariables.contains("options") == false)
    }

    @Test("inside the window vendor options go as one list: rows within Meta's limits, ids as given")
    func list() throws {
        let context: [String: JSONValue] = [
            "client_name": .string("Priya"), "options": options(["Garden package with live band and fireworks", "Ballroom"]),
        ]
        let payload = try WhatsAppPayload(message(.vendorOptions, window: true, context: context), templates: WhatsAppTemplate.seed, mediaIDs: [])
        let sent = try json(payload)
        #expect(sent.count == 1 && payload.primary == 0 && sent[0]["type"] as? String == "interactive")
        let interactive = try #require(sent[0]["interactive"] as? [String: Any])
        #expect(interactive["type"] as? String == "list")
        let action = try #require(interactive["action"] as? [String: Any])
        #expect(action["button"] as? String == "View options")
        let rows = try #require((action["sections"] as? [[String: Any]])?.first?["rows"] as? [[String: Any]])
        #expect(rows.map { $0["id"] as? String } == ["opt-1", "opt-2"])
        #expect(rows.map { $0["title"] as? String } == ["Garden package with…", "Ballroom"])
    }

    @Test("selection confirmations go as reply buttons; more than fit, or outside the window, as numbered text or the template")
    func buttonsAndFallbacks() throws {
        let three: [String: JSONValue] = ["client_name": .string("Priya"), "options": options(["Confirm", "Change a vendor", "Call me"])]
        let buttons = try json(WhatsAppPayload(message(.selectionConfirmation, window: true, context: three), templates: WhatsAppTemplate.seed, mediaIDs: []))
        let interactive = try #require(buttons[0]["interactive"] as? [String: Any])
        #expect(interactive["type"] as? String == "button")
        let replies = try #require((interactive["action"] as? [String: Any])?["buttons"] as? [[String: Any]])
        #expect(replies.compactMap { ($0["reply"] as? [String: Any])?["title"] as? String } == ["Confirm", "Change a vendor", "Call me"])

        let four: [String: JSONValue] = ["client_name": .string("Priya"), "options": options(["A", "B", "C", "D"])]
        let text = try json(WhatsAppPayload(message(.selectionConfirmation, window: true, context: four), templates: WhatsAppTemplate.seed, mediaIDs: []))
        #expect(text[0]["type"] as? String == "text")
        #expect(((text[0]["text"] as? [String: Any])?["body"] as? String)?.contains("Reply 4 for D") == true)

        let eleven: [String: JSONValue] = ["client_name": .string("Priya"), "options": options((1...11).map { "Venue \($0)" })]
        let long = try json(WhatsAppPayload(message(.vendorOptions, window: true, context: eleven), templates: WhatsAppTemplate.seed, mediaIDs: []))
        #expect(long[0]["type"] as? String == "text")
        #expect(((long[0]["text"] as? [String: Any])?["body"] as? String)?.contains("11. Venue 11") == true)

        let outside = try json(WhatsAppPayload(message(.vendorOptions, window: false, context: three), templates: WhatsAppTemplate.seed, mediaIDs: []))
        #expect(outside[0]["type"] as? String == "template")
    }

    @Test("a file goes after its upload: inside the window with the text as caption, outside in the template's header")
    func media() throws {
        let pdf = try CRMModel.Attachment(filename: "blueprint.pdf", contentType: "application/pdf", data: Data("%PDF-1.7".utf8))
        let png = try CRMModel.Attachment(filename: "floor.png", contentType: "image/png", data: Data([0x89, 0x50]))
        let context: [String: JSONValue] = ["client_name": .string("Priya"), "blueprint_url": .string("https://p.example/b")]
        let inside = try json(WhatsAppPayload(
            message(.blueprintDelivery, window: true, context: context, attachments: [pdf, png]), templates: WhatsAppTemplate.seed,
            mediaIDs: ["111", "222"]
        ))
        // The message's own goes last: its acceptance is the attempt's.
        #expect(inside.map { $0["type"] as? String } == ["document", "image"])
        let document = try #require(inside[0]["document"] as? [String: Any])
        #expect(document["id"] as? String == "111" && document["filename"] as? String == "blueprint.pdf" && document["caption"] == nil)
        #expect(((inside[1]["image"] as? [String: Any])?["caption"] as? String)?.contains("Priya") == true)

        var headed = WhatsAppTemplate.seed
        headed[.blueprintDelivery]?.header = .document
        let outside = try json(WhatsAppPayload(
            message(.blueprintDelivery, window: false, context: context, attachments: [pdf]), templates: headed, mediaIDs: ["111"]
        ))
        let components = try #require((outside[0]["template"] as? [String: Any])?["components"] as? [[String: Any]])
        #expect(components.map { $0["type"] as? String } == ["header", "body"])
        let header = try #require((components[0]["parameters"] as? [[String: Any]])?.first)
        #expect(header["type"] as? String == "document" && (header["document"] as? [String: Any])?["id"] as? String == "111")

        // A file the template's header cannot take, more than one, none for a header, or one for a
        // template without a header, is refused before any upload: the next channel carries the message.
        for (files, templates) in [([png], headed), ([pdf, pdf], headed), ([], headed), ([pdf], WhatsAppTemplate.seed)] {
            #expect {
                try WhatsAppPayload.approvedTemplate(
                    for: message(.blueprintDelivery, window: false, context: context, attachments: files), templates: templates
                )
            } throws: { ($0 as? ProviderError)?.providerCode == "template_header" }
        }
        #expect(throws: Never.self) {
            try WhatsAppPayload.approvedTemplate(for: message(.blueprintDelivery, window: false, context: context), templates: WhatsAppTemplate.seed)
        }

        // A text too long for a caption goes on its own, after the files.
        var long = message(.blueprintDelivery, window: true, context: context, attachments: [pdf])
        long.content.text = String(repeating: "x", count: 1025)
        let split = try WhatsAppPayload(long, templates: WhatsAppTemplate.seed, mediaIDs: ["111"])
        #expect(try json(split).map { $0["type"] as? String } == ["document", "text"] && split.primary == 1)
    }

    @Test("a list reply names the option and the message it answers; an old bare number still reads")
    func replies() throws {
        let body = #"""
            {"entry":[{"changes":[{"field":"messages","value":{"messages":[
              {"from":"919876543210","id":"wamid.R","timestamp":"1800000400","type":"interactive",
               "context":{"from":"15550100199","id":"wamid.LIST"},
               "interactive":{"type":"list_reply","list_reply":{"id":"opt-2","title":"Ballroom","description":"12000"}}},
              {"from":"919876543210","id":"wamid.Q","timestamp":"1800000500","type":"button",
               "context":{"id":"wamid.T"},"button":{"text":"Yes","payload":"confirm"}}]}}]}]}
            """#
        let events = try JSONDecoder().decode(WhatsAppNotification.self, from: Data(body.utf8)).events(receivedAt: Date())
        guard case .inbound(let list) = events[0], case .inbound(let quick) = events[1] else {
            Issue.record("expected two inbound messages")
            return
        }
        #expect(list.selection == Selection(id: "opt-2", title: "Ballroom") && list.inReplyTo == "wamid.LIST" && list.text == "Ballroom")
        // A template's quick reply keeps its text's meaning; the payload rides along.
        #expect(quick.selection == nil && quick.quickReply == Selection(id: "confirm", title: "Yes") && quick.inReplyTo == "wamid.T")

        #expect(try JSONDecoder().decode(Selection.self, from: Data("2".utf8)) == Selection(number: 2))
        #expect(String(decoding: try JSONEncoder().encode(Selection(number: 2)), as: UTF8.self) == #"{"number":2}"#)
    }

    @Test("an SMS links to each attachment, or hands the links to Twilio as MMS media")
    func smsLinks() throws {
        let links = EmailLinks(baseURL: "https://crm.example.com", key: .init(size: .bits256))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let pdf = try CRMModel.Attachment(filename: "blue print.pdf", contentType: "application/pdf", data: Data("%PDF".utf8))
        let sms = message(.blueprintDelivery, window: false, context: ["client_name": .string("Priya")], attachments: [pdf], channel: .sms)
        let settings = TwilioSettings(accountSID: "AC1", authToken: "t", from: "+15005550006")

        let linked = TwilioProvider(settings: settings, links: links, now: { now }).fields(for: sms)
        let body = try #require(linked.first { $0.0 == "Body" }?.1)
        let url = try #require(body.split(separator: "\n").last.map(String.init)?.replacingOccurrences(of: "blue print.pdf: ", with: ""))
        // The file's name stays in the text, not in the URL.
        #expect(url.hasPrefix("https://crm.example.com/attachments/") && url.hasSuffix("/attachment-1.pdf"))
        let parts = url.split(separator: "/").suffix(4).map(String.init)
        let origin = sms.attachmentOrigins[0]
        #expect(links.verifyAttachment(token: parts[0], position: parts[1], expires: parts[2], at: now)! == (origin.communicationID, 0))
        // Expired, or another position or expiry than signed: nothing.
        #expect(links.verifyAttachment(token: parts[0], position: parts[1], expires: parts[2], at: now.addingTimeInterval(8 * 24 * 3600)) == nil)
        #expect(links.verifyAttachment(token: parts[0], position: "1", expires: parts[2], at: now) == nil)
        #expect(links.verifyAttachment(token: parts[0], position: parts[1], expires: String(Int(parts[2])! + 1), at: now) == nil)

        let mms = TwilioProvider(settings: settings, links: links, attachments: SMSAttachments(mms: true), now: { now }).fields(for: sms)
        #expect(mms.filter { $0.0 == "MediaUrl" }.count == 1)
        #expect(mms.first { $0.0 == "Body" }?.1.contains("/attachments/") == false)
    }

    @Test("an upload is a multipart form Meta reads: the product, the type, and the file with its name and type")
    func multipart() {
        var form = MultipartForm()
        form.add("messaging_product", "whatsapp")
        form.add("file", filename: "a\"b.pdf", contentType: "application/pdf", data: Data("%PDF".utf8))
        let text = String(decoding: form.finished, as: UTF8.self)
        #expect(form.contentType == "multipart/form-data; boundary=\(form.boundary)")
        #expect(text.contains("--\(form.boundary)\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"))
        #expect(text.contains("filename=\"a%22b.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n"))
        #expect(text.hasSuffix("--\(form.boundary)--\r\n"))
    }

    @Test("a media id is reused while Meta keeps the upload, and never after")
    func mediaCache() throws {
        let cache = WhatsAppMediaCache(capacity: 2)
        let now = Date()
        let files = try (1...3).map { try CRMModel.Attachment(filename: "f\($0).pdf", contentType: "application/pdf", data: Data([UInt8($0)])) }
        cache.remember("1", for: files[0], at: now)
        #expect(cache.id(of: files[0], at: now.addingTimeInterval(28 * 24 * 3600)) == "1")
        #expect(cache.id(of: files[0], at: now.addingTimeInterval(30 * 24 * 3600)) == nil)
        #expect(cache.id(of: files[1], at: now) == nil)
        cache.remember("2", for: files[1], at: now.addingTimeInterval(1))
        cache.remember("3", for: files[2], at: now.addingTimeInterval(2))
        #expect(cache.id(of: files[0], at: now.addingTimeInterval(3)) == nil && cache.id(of: files[2], at: now.addingTimeInterval(3)) == "3")
    }
}
