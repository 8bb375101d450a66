import Foundation

/// What closes every email for CAN-SPAM: the sender's postal address and a working way to opt out.
///
/// The plain-text part always gets it; an HTML part gets it here only when there are no tracking
/// links (with them, `EmailTracking` writes the footer beside its pixel).
struct EmailFooter {
    var postalAddress: String?
    var unsubscribeURL: String?

    func appended(toText text: String) -> String {
        var lines: [String] = []
        if let postalAddress { lines.append(postalAddress) }
        if let unsubscribeURL { lines.append("Unsubscribe: \(unsubscribeURL)") }
        guard !lines.isEmpty else { return text }
        // "-- " is the usual signature separator: mail clients set what follows apart.
        return text + "\n\n-- \n" + lines.joined(separator: "\n")
    }

    func appended(toHTML html: String) -> String {
        guard let postalAddress else { return html }
        let footer = #"<p style="font-size:12px;color:#888888">\#(Self.escapeText(postalAddress))</p>"#
        if let end = ASCIIText.lastIndex(ofCaseInsensitive: "</body>", in: html) {
            var result = html
            result.insert(contentsOf: footer, at: end)
            return result
        }
        return html + footer
    }

    static func escapeText(_ text: String) -> String {
        ASCIIText.replacing(textEscapes, in: text)
    }

    private static let textEscapes = ASCIIText.Replacements(["&": "&amp;", "<": "&lt;", ">": "&gt;"])
}
