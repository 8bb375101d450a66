import Channels
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

    @Test("a line break in a header value is refused, never sent", arguments: [
        "Hello\r\nBcc: victim@example.com", "Hello\nBcc: victim@example.com", "Hello\rX: y",
    ])
    func headerInjection(_ subject: String) {
        #expect(throws: ProviderError.self) {
            try MIMEMessage(from: sender, to: "priya@example.com", communicationID: id, content: RenderedMessage(subject: subject, html: "<p/>", text: "")).serialized()
        }
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
        #expect(HTMLText.plainText(from: html) == "Hi & welcome\nLine one\nLine two\n\n- A\n- B")
    }
}
