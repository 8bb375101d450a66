@testable import Channels
import Crypto
import Foundation
import Testing

/// The byte-level rewrites of the email path (plain text from HTML, tracked links, escaping, base64url
/// tokens) hold against the Foundation-based code they replaced, kept here as the reference, on
/// thousands of generated documents mixing markup, entities, line breaks and non-ASCII text.
@Suite("Email markup, byte by byte")
struct EmailMarkupTests {
    static let fragments = [
        "<p>", "</p>", "<br>", "<BR/>", "<li>", "</li>", "<ul>", "<div class=\"x\">", "<h2>", "</h3>", "<tr>", "<td>",
        "<a href=\"https://a.example/x?b=1&amp;c=2\">", "<A HREF = \"HTTP://b.example/\">", "</a>", "</A>",
        "<a href=\"mailto:p@example.com\">", "href=\"https://c.example/\"", "href=\"https://\"", "href=\"http://d.example",
        "&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&apos;", "&nbsp;", "&#x1F600;", "&#233;", "&bogus;", "&", ";",
        "<", ">", "\"", "é", "😀", "👩‍👩‍👧", "e\u{301}", "\r\n", "\n", "\r", "\u{2028}", "\u{85}", "\t", "  ", " ",
        "Dear Priya", "your wedding", "₹ 1,00,000", "</body>", "</BODY>", "<body>", "<pé>", "<é>",
    ]

    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    static func documents(count: Int) -> [String] {
        var generator = Generator(state: 0x9E37_79B9_7F4A_7C15)
        return (0..<count).map { _ in
            (0..<Int.random(in: 0...40, using: &generator)).map { _ in fragments.randomElement(using: &generator)! }.joined()
        }
    }

    @Test("plain text is what the character-based conversion gave")
    func plainTextAsBefore() {
        let differing = Self.documents(count: 600).filter { HTMLText.plainText(from: $0) != ReferenceHTMLText.plainText(from: $0) }
        #expect(differing.isEmpty, "\(differing.prefix(3).map(\.debugDescription))")
    }

    @Test("tracked links, the footer and the pixel are what the regular expression gave")
    func trackingAsBefore() {
        let links = EmailLinks(baseURL: "https://crm.example.com", key: SymmetricKey(size: .bits256))
        let id = UUID()
        let tracking = EmailTracking(
            links: links, communicationID: id, unsubscribeURL: links.unsubscribeURL(for: id), postalAddress: "1 Rue & Co <Paris>"
        )
        let differing = Self.documents(count: 600).filter {
            tracking.apply(to: $0) != ReferenceTracking.apply($0, links: links, id: id, postalAddress: "1 Rue & Co <Paris>")
        }
        #expect(differing.isEmpty, "\(differing.prefix(3).map(\.debugDescription))")
    }

    @Test("attribute escaping and unescaping, as with Foundation")
    func escaping() {
        for text in Self.documents(count: 600) {
            #expect(EmailTracking.escapeAttribute(text) == ReferenceTracking.escapeAttribute(text))
            #expect(EmailTracking.unescapeAttribute(text) == ReferenceTracking.unescapeAttribute(text))
            #expect(EmailFooter.escapeText(text) == text.replacingOccurrences(of: "&", with: "&amp;")
                .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;"))
        }
    }

    @Test("trimming white space as whitespacesAndNewlines does")
    func trimming() {
        // One expectation for the million scalars: an expectation each would hold a thread for seconds.
        let differing = (UInt32(0)...0x10FFFF).compactMap(Unicode.Scalar.init).filter {
            String.isWhiteSpace($0) != CharacterSet.whitespacesAndNewlines.contains($0)
        }
        #expect(differing.isEmpty, "\(differing.prefix(10).map { "U+" + String($0.value, radix: 16) })")
        let spaces = [" ", "\t", "\n", "\r\n", "\u{85}", "\u{A0}", "\u{2028}", "\u{3000}", "\u{200B}", "x", "é", ""]
        for a in spaces { for b in spaces { for c in spaces {
            let text = a + b + "mid" + c + a
            #expect(text.trimmedOfWhiteSpace == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text.debugDescription)")
        } } }
    }

    @Test("tokens are base64url without padding, and every token made verifies")
    func tokens() {
        let links = EmailLinks(baseURL: "https://crm.example.com", key: SymmetricKey(size: .bits256))
        for _ in 0..<100 {
            let id = UUID()
            let token = links.token(.click, for: id, target: "https://a.example/é")
            #expect(token.count == 43 && token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            #expect(links.verify(token, .click, target: "https://a.example/é") == id)
        }
    }
}

/// The conversion as it was written on Characters, for comparison.
private enum ReferenceHTMLText {
    static func plainText(from html: String) -> String {
        var output = ""
        var index = html.startIndex
        var pendingHref: String?
        while index < html.endIndex {
            let character = html[index]
            if character == "<", let close = html[index...].firstIndex(of: ">") {
                let tag = html[html.index(after: index)..<close]
                // As it was, but for digits in the name: `<h1>` was read as `h` and lost its line break.
                let name = tag.prefix { $0.isLetter || $0.isNumber || $0 == "/" }.lowercased()
                switch name {
                case "br", "p", "/p", "div", "/div", "h1", "h2", "h3", "/h1", "/h2", "/h3", "ul", "/ul", "ol", "/ol", "tr":
                    output += "\n"
                case "li":
                    output += "\n- "
                case "a":
                    pendingHref = attribute("href", in: tag)
                case "/a":
                    if let href = pendingHref, !output.hasSuffix(href) { output += " (\(href))" }
                    pendingHref = nil
                default:
                    break
                }
                index = html.index(after: close)
                continue
            }
            if character == "&", let semicolon = html[index...].prefix(10).firstIndex(of: ";") {
                let entity = String(html[html.index(after: index)..<semicolon])
                if let decoded = decode(entity) {
                    output += decoded
                    index = html.index(after: semicolon)
                    continue
                }
            }
            output.append(character.isNewline ? " " : character)
            index = html.index(after: index)
        }
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
        var result: [String] = []
        for line in lines where !(line.isEmpty && (result.last?.isEmpty ?? true)) {
            result.append(line)
        }
        return result.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func attribute(_ name: String, in tag: Substring) -> String? {
        guard let range = tag.range(of: "\(name)=\"") else { return nil }
        let rest = tag[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return plainText(from: String(rest[..<end]))
    }

    private static func decode(_ entity: String) -> String? {
        switch entity {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "#39", "apos": return "'"
        case "nbsp": return " "
        default:
            if entity.hasPrefix("#x"), let value = UInt32(entity.dropFirst(2), radix: 16), let scalar = Unicode.Scalar(value) {
                return String(Character(scalar))
            }
            if entity.hasPrefix("#"), let value = UInt32(entity.dropFirst()), let scalar = Unicode.Scalar(value) {
                return String(Character(scalar))
            }
            return nil
        }
    }
}

/// Link tracking as it was written with NSRegularExpression and Foundation's string search.
private enum ReferenceTracking {
    static let href = try! NSRegularExpression(pattern: #"href\s*=\s*"(https?://[^"]+)""#, options: [.caseInsensitive])

    static func apply(_ html: String, links: EmailLinks, id: UUID, postalAddress: String?) -> String {
        var result = ""
        var last = html.startIndex
        let range = NSRange(html.startIndex..., in: html)
        for match in href.matches(in: html, range: range) {
            guard let whole = Range(match.range, in: html), let url = Range(match.range(at: 1), in: html) else { continue }
            let target = unescapeAttribute(String(html[url]))
            result += html[last..<whole.lowerBound]
            result += "href=\"\(escapeAttribute(links.clickURL(for: id, target: target)))\""
            last = whole.upperBound
        }
        result += html[last...]
        let address = postalAddress.map {
            "<br>" + $0.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        } ?? ""
        let footer = """
            <p style="font-size:12px;color:#888888">You receive this email about your event. \
            <a href="\(escapeAttribute(links.unsubscribeURL(for: id)))">Unsubscribe</a>\(address)</p>\
            <img src="\(escapeAttribute(links.openURL(for: id)))" width="1" height="1" alt="" style="display:none">
            """
        if let end = result.range(of: "</body>", options: [.caseInsensitive, .backwards]) {
            result.insert(contentsOf: footer, at: end.lowerBound)
        } else {
            result += footer
        }
        return result
    }

    static func escapeAttribute(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;")
    }

    static func unescapeAttribute(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
