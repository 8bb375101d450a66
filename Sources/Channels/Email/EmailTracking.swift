import Foundation

/// Makes an HTML email report back: each web link goes through the side port's click redirect, an
/// open pixel and a visible unsubscribe link (CAN-SPAM) close the body. The plain-text alternative
/// keeps the original links.
struct EmailTracking {
    var links: EmailLinks
    var communicationID: UUID
    /// The sender's postal address, shown above the unsubscribe link (CAN-SPAM).
    var postalAddress: String?

    private static let href = try! NSRegularExpression(pattern: #"href\s*=\s*"(https?://[^"]+)""#, options: [.caseInsensitive])

    func apply(to html: String) -> String {
        var result = ""
        var last = html.startIndex
        let range = NSRange(html.startIndex..., in: html)
        for match in Self.href.matches(in: html, range: range) {
            guard let whole = Range(match.range, in: html), let url = Range(match.range(at: 1), in: html) else { continue }
            let target = Self.unescapeAttribute(String(html[url]))
            result += html[last..<whole.lowerBound]
            result += "href=\"\(Self.escapeAttribute(links.clickURL(for: communicationID, target: target)))\""
            last = whole.upperBound
        }
        result += html[last...]
        let address = postalAddress.map { "<br>\(EmailFooter.escapeText($0))" } ?? ""
        let footer = """
            <p style="font-size:12px;color:#888888">You receive this email about your event. \
            <a href="\(Self.escapeAttribute(links.unsubscribeURL(for: communicationID)))">Unsubscribe</a>\(address)</p>\
            <img src="\(Self.escapeAttribute(links.openURL(for: communicationID)))" width="1" height="1" alt="" style="display:none">
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
