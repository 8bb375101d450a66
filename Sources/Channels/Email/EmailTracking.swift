import Foundation

/// Makes an HTML email report back: each web link goes through the side port's click redirect, an
/// open pixel and a visible unsubscribe link (CAN-SPAM) close the body. The plain-text alternative
/// keeps the original links.
struct EmailTracking {
    var links: EmailLinks
    var communicationID: UUID
    /// `links.unsubscribeURL(for: communicationID)`, signed once by the composer.
    var unsubscribeURL: String
    /// The sender's postal address, shown above the unsubscribe link (CAN-SPAM).
    var postalAddress: String?

    func apply(to html: String) -> String {
        var result = ""
        result.reserveCapacity(html.utf8.count + 1024)
        var last = html.startIndex
        var from = html.startIndex
        while let link = Self.nextLink(in: html, from: from) {
            let target = Self.unescapeAttribute(String(html[link.url]))
            result += html[last..<link.whole.lowerBound]
            result += "href=\"\(Self.escapeAttribute(links.clickURL(for: communicationID, target: target)))\""
            last = link.whole.upperBound
            from = link.whole.upperBound
        }
        result += html[last...]
        let address = postalAddress.map { "<br>\(EmailFooter.escapeText($0))" } ?? ""
        let footer = """
            <p style="font-size:12px;color:#888888">You receive this email about your event. \
            <a href="\(Self.escapeAttribute(unsubscribeURL))">Unsubscribe</a>\(address)</p>\
            <img src="\(Self.escapeAttribute(links.openURL(for: communicationID)))" width="1" height="1" alt="" style="display:none">
            """
        if let end = ASCIIText.lastIndex(ofCaseInsensitive: "</body>", in: result) {
            result.insert(contentsOf: footer, at: end)
        } else {
            result += footer
        }
        return result
    }

    /// The next web link in `html` at or after `from`: the whole `href="http(s)://..."` attribute
    /// (`href`, `http` and `https` in any case, spaces around `=`) and the address inside its quotes.
    static func nextLink(in html: String, from: String.Index) -> (whole: Range<String.Index>, url: Range<String.Index>)? {
        let utf8 = html.utf8
        var start = from
        while start < utf8.endIndex {
            if ASCIIText.lowercased(utf8[start]) == UInt8(ascii: "h"), ASCIIText.matches(hrefName, in: utf8, at: start),
                let link = link(in: utf8, at: start)
            {
                return link
            }
            start = utf8.index(after: start)
        }
        return nil
    }

    /// The link whose `href` starts at `start`, if the attribute is a web link in double quotes.
    private static func link(in utf8: String.UTF8View, at start: String.Index) -> (whole: Range<String.Index>, url: Range<String.Index>)? {
        func skipSpaces(_ index: inout String.Index) {
            while index < utf8.endIndex, [9, 10, 11, 12, 13, 32].contains(utf8[index]) { index = utf8.index(after: index) }
        }
        var index = utf8.index(start, offsetBy: hrefName.count)
        skipSpaces(&index)
        guard index < utf8.endIndex, utf8[index] == UInt8(ascii: "=") else { return nil }
        index = utf8.index(after: index)
        skipSpaces(&index)
        guard index < utf8.endIndex, utf8[index] == UInt8(ascii: "\"") else { return nil }
        let urlStart = utf8.index(after: index)
        let scheme = [httpScheme, httpsScheme].first { ASCIIText.matches($0, in: utf8, at: urlStart) }
        guard let scheme else { return nil }
        let rest = utf8.index(urlStart, offsetBy: scheme.count)
        guard let close = utf8[rest...].firstIndex(of: UInt8(ascii: "\"")), close > rest else { return nil }
        return (start..<utf8.index(after: close), urlStart..<close)
    }

    private static let hrefName = Array("href".utf8)
    private static let httpScheme = Array("http://".utf8)
    private static let httpsScheme = Array("https://".utf8)
    private static let attributeEscapes = ASCIIText.Replacements(["&": "&amp;", "\"": "&quot;", "<": "&lt;"])

    static func escapeAttribute(_ text: String) -> String {
        ASCIIText.replacing(attributeEscapes, in: text)
    }

    /// Decodes the entities our templates' escaping writes: `&quot;`, `&lt;`, `&gt;`, `&#39;`, `&amp;`.
    static func unescapeAttribute(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "&")) else { return text }
        let entities: [(name: [UInt8], character: UInt8)] = [
            (Array("&quot;".utf8), UInt8(ascii: "\"")), (Array("&lt;".utf8), UInt8(ascii: "<")), (Array("&gt;".utf8), UInt8(ascii: ">")),
            (Array("&#39;".utf8), UInt8(ascii: "'")), (Array("&amp;".utf8), UInt8(ascii: "&")),
        ]
        let utf8 = text.utf8
        var bytes: [UInt8] = []
        var index = utf8.startIndex
        next: while index < utf8.endIndex {
            if utf8[index] == UInt8(ascii: "&") {
                for entity in entities where ASCIIText.matches(entity.name, in: utf8, at: index, ignoringCase: false) {
                    bytes.append(entity.character)
                    index = utf8.index(index, offsetBy: entity.name.count)
                    continue next
                }
            }
            bytes.append(utf8[index])
            index = utf8.index(after: index)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
