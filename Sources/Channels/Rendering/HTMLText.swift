import Foundation

/// The plain-text version of an HTML email: block elements become line breaks, list items get a
/// bullet, links keep their address, entities are decoded.
///
/// Written for the HTML our own templates produce, not as a general HTML parser.
package enum HTMLText {
    package static func plainText(from html: String) -> String {
        var output = ""
        var index = html.startIndex
        var pendingHref: String?
        while index < html.endIndex {
            let character = html[index]
            if character == "<", let close = html[index...].firstIndex(of: ">") {
                let tag = html[html.index(after: index)..<close]
                let name = tag.prefix { $0.isLetter || $0 == "/" }.lowercased()
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
        // Collapse runs of spaces and of blank lines the markup left behind.
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
