package import Foundation

/// An email as RFC 5322 and MIME (RFC 2045-2047) want it: headers, then a multipart/alternative body
/// with a plain-text and an HTML part, CRLF line ends, no line over 78 characters.
///
/// Header values never contain CR or LF: a value that does is refused rather than cleaned, because a
/// line break in a header is how headers are injected.
package struct MIMEMessage: Sendable {
    package var from: EmailSender
    package var to: String
    package var communicationID: UUID
    package var content: RenderedMessage
    package var date: Date
    package var messageID: String

    package init(from: EmailSender, to: String, communicationID: UUID, content: RenderedMessage, date: Date = Date()) {
        self.from = from
        self.to = to
        self.communicationID = communicationID
        self.content = content
        self.date = date
        // One UUID keeps the header within 78 characters; X-CRM-Communication-ID carries the link.
        self.messageID = "<\(UUID().uuidString.lowercased())@\(from.domain)>"
    }

    package func serialized() throws(ProviderError) -> [UInt8] {
        // Checked on the raw values: the encoded forms below fold long headers with CRLF themselves.
        // Scalars, not Characters: Swift reads "\r\n" as one Character equal to neither "\r" nor "\n".
        for (name, value) in [("Subject", content.subject ?? ""), ("From", from.name ?? ""), ("To", to)]
        where value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw ProviderError(.permanent, "the \(name) header would contain a line break; refused to prevent header injection")
        }
        let boundary = "=_crm_\(UUID().uuidString.lowercased())"
        var headers: [(String, String)] = [
            ("From", Self.mailbox(from.address, name: from.name)),
            ("To", "<\(to)>"),
            ("Subject", Self.encodedWord(content.subject ?? "")),
            ("Date", Self.rfc5322Date(date)),
            ("Message-ID", messageID),
            ("MIME-Version", "1.0"),
            ("X-CRM-Communication-ID", communicationID.uuidString.lowercased()),
        ]
        var body: [String] = []
        if let html = content.html {
            headers.append(("Content-Type", "multipart/alternative;\r\n boundary=\"\(boundary)\""))
            body.append("--\(boundary)")
            body.append(contentsOf: Self.part(type: "text/plain", content.text))
            body.append("--\(boundary)")
            body.append(contentsOf: Self.part(type: "text/html", html))
            body.append("--\(boundary)--")
        } else {
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
            headers.append(("Content-Transfer-Encoding", "base64"))
            body.append("")
            body.append(contentsOf: Self.base64Lines(content.text))
        }
        var lines: [String] = []
        for (name, value) in headers {
            lines.append("\(name): \(value)")
        }
        lines.append("")
        lines.append(contentsOf: body)
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    private static func part(type: String, _ text: String) -> [String] {
        ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", ""] + base64Lines(text)
    }

    /// Base64 in lines of 76 characters, as RFC 2045 requires.
    private static func base64Lines(_ text: String) -> [String] {
        let encoded = Data(text.utf8).base64EncodedString()
        return stride(from: 0, to: encoded.count, by: 76).map { offset in
            let start = encoded.index(encoded.startIndex, offsetBy: offset)
            let end = encoded.index(start, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            return String(encoded[start..<end])
        }
    }

    /// `"Name" <address>`, the display name as an encoded word when it is not plain ASCII.
    static func mailbox(_ address: String, name: String?) -> String {
        guard let name, !name.isEmpty else { return "<\(address)>" }
        let printable = name.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 32 && $0.value < 127 }
        let display = printable
            ? "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            : encodedWord(name)
        return "\(display) <\(address)>"
    }

    /// RFC 2047 encoded words (base64, UTF-8) for text that is not plain ASCII, each word short enough
    /// to keep the header line within limits, never splitting a character.
    static func encodedWord(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 32 && $0.value < 127 }) && text.count <= 900 {
            return text
        }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            // 45 bytes encode to 60 base64 characters; with `=?utf-8?b?` and `?=` a word stays under 75.
            if chunk.count + bytes.count > 45 {
                words.append("=?utf-8?b?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?utf-8?b?\(Data(chunk).base64EncodedString())?=") }
        // Folding whitespace between encoded words is ignored by readers.
        return words.joined(separator: "\r\n ")
    }

    /// `Wed, 25 Nov 2026 06:11:30 +0000`, computed directly rather than through a shared formatter.
    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String { let value = value ?? 0; return value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[(parts.weekday ?? 1) - 1]), \(parts.day ?? 1) \(months[(parts.month ?? 1) - 1]) \(parts.year ?? 1970) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }
}
