package import CRMModel
package import Foundation

/// An email as RFC 5322 and MIME (RFC 2045-2047, 2231) want it: headers, then a multipart/alternative
/// body with a plain-text and an HTML part, inside a multipart/mixed with the attachments when there
/// are any; CRLF line ends, base64 bodies in lines of 76 characters.
///
/// Header values never contain CR or LF: a value that does is refused rather than cleaned, because a
/// line break in a header is how headers are injected.
package struct MIMEMessage: Sendable {
    package var from: EmailSender
    package var to: String
    /// The recipient's display name, `"Name" <address>`.
    package var toName: String?
    package var communicationID: UUID
    package var content: RenderedMessage
    package var attachments: [Attachment]
    /// The one-click unsubscribe link (RFC 8058) on the side port, when links are configured.
    package var unsubscribeURL: String?
    package var date: Date
    package var messageID: String

    package init(
        from: EmailSender, to: String, toName: String? = nil, communicationID: UUID, content: RenderedMessage,
        attachments: [Attachment] = [], unsubscribeURL: String? = nil, date: Date = Date()
    ) {
        self.from = from
        self.to = to
        self.toName = toName
        self.communicationID = communicationID
        self.content = content
        self.attachments = attachments
        self.unsubscribeURL = unsubscribeURL
        self.date = date
        // One UUID keeps the header within 78 characters; X-CRM-Communication-ID carries the link.
        self.messageID = "<\(UUID.random().canonicalString)@\(from.domain)>"
    }

    package func serialized() throws(ProviderError) -> [UInt8] {
        // Checked on the raw values: the encoded forms below fold long headers with CRLF themselves.
        // Scalars, not Characters: Swift reads "\r\n" as one Character equal to neither "\r" nor "\n".
        let raw = [
            ("Subject", content.subject ?? ""), ("From", from.name ?? ""), ("From", from.address), ("To", to),
            ("To", toName ?? ""), ("List-Unsubscribe", unsubscribeURL ?? ""),
        ] + attachments.map { ("Content-Disposition", $0.filename) }
        for (name, value) in raw where value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw ProviderError(
                "the \(name) header would contain a line break; refused to prevent header injection",
                answer: .notSent, providerCode: "header_injection"
            )
        }
        var headers: [(String, String)] = [
            ("From", Self.mailbox(from.address, name: from.name)),
            ("To", Self.mailbox(to, name: toName)),
            ("Subject", Self.encodedWord(content.subject ?? "")),
            ("Date", Self.rfc5322Date(date)),
            ("Message-ID", messageID),
            ("MIME-Version", "1.0"),
            ("X-CRM-Communication-ID", communicationID.canonicalString),
        ]
        if let unsubscribeURL {
            // RFC 8058: the HTTPS link and the header that says a POST to it unsubscribes in one click.
            headers.append(("List-Unsubscribe", "\r\n <\(unsubscribeURL)>"))
            headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        }
        var body: [String]
        let text = textBody()
        if attachments.isEmpty {
            headers += text.headers
            body = text.lines
        } else {
            let boundary = Self.boundary()
            headers.append(("Content-Type", "multipart/mixed;\r\n boundary=\"\(boundary)\""))
            body = ["", "This is a multipart message in MIME format.", "--\(boundary)"]
            body += text.headers.map { "\($0): \($1)" } + text.lines
            for attachment in attachments {
                body.append("--\(boundary)")
                body += Self.attachmentPart(attachment)
            }
            body.append("--\(boundary)--")
        }
        var lines = headers.map { "\($0): \($1)" }
        lines += body
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// The text of the message: plain only, or plain and HTML as alternatives. Headers of the part
    /// (or of the message, when it is the whole body), then its lines starting with the blank one.
    private func textBody() -> (headers: [(String, String)], lines: [String]) {
        guard let html = content.html else {
            return ([("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "base64")],
                    [""] + Self.base64Lines(Data(content.text.utf8)))
        }
        let boundary = Self.boundary()
        var lines = ["", "--\(boundary)"]
        lines += Self.part(type: "text/plain", content.text)
        lines.append("--\(boundary)")
        lines += Self.part(type: "text/html", html)
        lines.append("--\(boundary)--")
        return ([("Content-Type", "multipart/alternative;\r\n boundary=\"\(boundary)\"")], lines)
    }

    private static func boundary() -> String {
        "=_crm_\(UUID.random().canonicalString)"
    }

    private static func part(type: String, _ text: String) -> [String] {
        ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", ""] + base64Lines(Data(text.utf8))
    }

    private static func attachmentPart(_ attachment: Attachment) -> [String] {
        let name = filenameParameter(attachment.filename)
        return [
            "Content-Type: \(attachment.contentType)",
            "Content-Disposition: attachment;\r\n \(name)",
            "Content-Transfer-Encoding: base64",
            "",
        ] + base64Lines(attachment.data)
    }

    /// `filename="name"` for plain ASCII names, RFC 2231's `filename*=utf-8''percent-encoded` otherwise.
    static func filenameParameter(_ filename: String) -> String {
        let plain = filename.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 32 && $0.value < 127 && $0 != "\"" && $0 != "\\" }
        if plain && filename.utf8.count < 60 {
            return "filename=\"\(filename)\""
        }
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        let units = filename.utf8.map { unreserved.contains($0) ? String(UnicodeScalar($0)) : String(format: "%%%02X", $0) }
        // RFC 2231 continuations keep each line short: filename*0*=utf-8''..., filename*1*=...
        var pieces = [""]
        for unit in units {
            if pieces[pieces.count - 1].utf8.count + unit.utf8.count > 48 { pieces.append("") }
            pieces[pieces.count - 1] += unit
        }
        if pieces.count == 1 { return "filename*=utf-8''\(pieces[0])" }
        return pieces.enumerated().map { index, piece in
            index == 0 ? "filename*0*=utf-8''\(piece)" : "filename*\(index)*=\(piece)"
        }.joined(separator: ";\r\n ")
    }

    /// Base64 in lines of 76 characters, as RFC 2045 requires.
    private static func base64Lines(_ data: Data) -> [String] {
        let encoded = Array(data.base64EncodedString().utf8)
        return stride(from: 0, to: encoded.count, by: 76).map { offset in
            String(decoding: encoded[offset..<min(offset + 76, encoded.count)], as: UTF8.self)
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
        // Text that holds `=?` could read as an encoded word of its own, so it is encoded too.
        if text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 32 && $0.value < 127 }) && text.count <= 900 && !text.contains("=?") {
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
