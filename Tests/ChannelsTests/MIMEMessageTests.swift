import Channels
import CRMModel
import Foundation
import Testing

@Suite("Email messages")
struct MIMEMessageTests {
    let sender = EmailSender(address: "planner@example.com", name: "Planiva Événements")
    let id = UUID()

    func lines(_ content: RenderedMessage) throws -> [String] {
        let bytes = try MIMEMessage(from: sender, to: "priya@example.com", communicationID: id, content: content).serialized()
        return String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
    }

    @Test("headers, CRLF line ends, no line over 78 characters, a part for text and for HTML")
    func structure() throws {
        let text = try lines(RenderedMessage(subject: "Your plan", html: "<p>" + String(repeating: "long ", count: 100) + "</p>", text: "Hi"))
        #expect(text.contains("Subject: Your plan"))
        #expect(text.contains("X-CRM-Communication-ID: \(id.uuidString.lowercased())"))
        #expect(text.contains("MIME-Version: 1.0"))
        #expect(text.contains { $0.hasPrefix("Message-ID: <") && $0.hasSuffix("@example.com>") })
        #expect(text.contains { $0.hasPrefix("Date: ") && $0.hasSuffix(" +0000") })
        #expect(text.filter { $0.hasPrefix("Content-Type: text/") }.count == 2)
        #expect(text.allSatisfy { $0.utf8.count <= 78 })
    }

    @Test("non-ASCII names and subjects are RFC 2047 encoded words")
    func encodedWords() throws {
        let text = try lines(RenderedMessage(subject: "Budget ₹ options for Priya — " + String(repeating: "é", count: 60), html: "<p>x</p>", text: "x"))
        let from = try #require(text.first { $0.hasPrefix("From: ") })
        #expect(from.hasPrefix("From: =?utf-8?b?") && from.hasSuffix("<planner@example.com>"))
        let subject = try #require(text.firstIndex { $0.hasPrefix("Subject: ") })
        #expect(text[subject].hasPrefix("Subject: =?utf-8?b?"))
        #expect(text[subject + 1].hasPrefix(" =?utf-8?b?"), "long subjects fold onto continuation lines")
    }

    @Test("a subject that looks like an encoded word is encoded, so a reader shows it as written")
    func encodedWordLookalike() throws {
        let text = try lines(RenderedMessage(subject: "=?utf-8?b?SGk=?=", html: "<p>x</p>", text: "x"))
        let subject = try #require(text.first { $0.hasPrefix("Subject: ") })
        #expect(subject == "Subject: =?utf-8?b?PT91dGYtOD9iP1NHaz0/PQ==?=")
    }

    @Test("a line break in a header value is refused, never sent", arguments: [
        "Hello\r\nBcc: victim@example.com", "Hello\nBcc: victim@example.com", "Hello\rX: y",
    ])
    func headerInjection(_ subject: String) {
        #expect(throws: ProviderError.self) {
            try MIMEMessage(from: sender, to: "priya@example.com", communicationID: id, content: RenderedMessage(subject: subject, html: "<p/>", text: "")).serialized()
        }
    }
}

@Suite("Email attachments and unsubscribe")
struct MIMEAttachmentTests {
    let sender = EmailSender(address: "planner@example.com", name: nil)

    @Test("attachments make a multipart/mixed around the text; names are RFC 2231 encoded when not ASCII")
    func attachments() throws {
        let files = [
            try Attachment(filename: "budget.pdf", contentType: "application/pdf", data: Data(repeating: 1, count: 200)),
            try Attachment(filename: "plan de salle – été, version définitive.png", contentType: "image/png", data: Data([0, 1])),
        ]
        let message = MIMEMessage(
            from: sender, to: "priya@example.com", toName: "Priya Śharma", communicationID: UUID(),
            content: RenderedMessage(subject: "s", html: "<p>x</p>", text: "x"), attachments: files,
            unsubscribeURL: "https://crm.example.com/email/unsubscribe/abc"
        )
        let text = String(decoding: try message.serialized(), as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines.contains { $0.hasPrefix("Content-Type: multipart/mixed;") })
        #expect(lines.contains { $0.hasPrefix("Content-Type: multipart/alternative;") })
        #expect(lines.contains(" filename=\"budget.pdf\""))
        #expect(lines.contains { $0.hasPrefix(" filename*0*=utf-8''plan%20de%20salle%20%E2%80%93") })
        #expect(lines.contains(" <https://crm.example.com/email/unsubscribe/abc>"))
        #expect(lines.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
        #expect(lines.contains { $0.hasPrefix("To: =?utf-8?b?") && $0.hasSuffix("<priya@example.com>") })
        #expect(lines.allSatisfy { $0.utf8.count <= 78 })
    }

    @Test("a recipient name with a line break is refused")
    func nameInjection() {
        let message = MIMEMessage(
            from: sender, to: "priya@example.com", toName: "Priya\r\nBcc: x@example.com", communicationID: UUID(),
            content: RenderedMessage(subject: "s", text: "x")
        )
        #expect(throws: ProviderError.self) { try message.serialized() }
    }
}

@Suite("SMS length")
struct SMSSegmentsTests {
    @Test("GSM-7 and UCS-2 segments", arguments: [
        (String(repeating: "a", count: 160), 1), (String(repeating: "a", count: 161), 2), (String(repeating: "a", count: 306), 2),
        (String(repeating: "a", count: 307), 3), (String(repeating: "€", count: 80), 1), (String(repeating: "€", count: 81), 2),
        (String(repeating: "न", count: 70), 1), (String(repeating: "न", count: 71), 2), ("", 0), ("Hi 👋", 1),
    ])
    func segments(_ text: String, _ count: Int) {
        #expect(SMSSegments.count(for: text) == count)
    }

    @Test("an emoji forces UCS-2")
    func encoding() {
        #expect(SMSSegments.encoding(of: "Hello {name}") == .gsm7)
        #expect(SMSSegments.encoding(of: "Hello 👋") == .ucs2)
    }
}

@Suite("Plain text from HTML")
struct HTMLTextTests {
    @Test("blocks become lines (a blank one after a paragraph), list items bullets, entities characters")
    func conversion() {
        let html = "<html><body><h1>Hi &amp; welcome</h1><p>Line one<br>Line two</p><ul><li>A</li><li>B</li></ul></body></html>"
        #expect(HTMLText.plainText(from: html) == "Hi & welcome\n\nLine one\nLine two\n\n- A\n- B")
        #expect(HTMLText.plainText(from: "<h1>Title</h1>Text") == "Title\nText")
    }
}
