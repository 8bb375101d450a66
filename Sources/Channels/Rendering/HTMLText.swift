/// The plain-text version of an HTML email: block elements become line breaks, list items get a
/// bullet, links keep their address, entities are decoded.
///
/// Written for the HTML our own templates produce, not as a general HTML parser. It works on the
/// UTF-8 bytes (every byte of markup it looks for is ASCII), not on characters: it runs for every
/// email sent, and walking grapheme clusters cost more than the rest of the rendering.
package enum HTMLText {
    package static func plainText(from html: String) -> String {
        let utf8 = html.utf8
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        var pendingHref: [UInt8]?
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "<"), let close = utf8[index...].firstIndex(of: UInt8(ascii: ">")) {
                let tag = utf8[utf8.index(after: index)..<close]
                // Digits after the first letter belong to the name (`h1`); non-ASCII bytes do too (as
                // letters of other scripts did), so such a tag is none of ours.
                let name = tag.prefix { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "/") || $0 >= 0x80 }.map(ASCIIText.lowercased)
                switch String(decoding: name, as: UTF8.self) {
                case "br", "p", "/p", "div", "/div", "h1", "h2", "h3", "/h1", "/h2", "/h3", "ul", "/ul", "ol", "/ol", "tr":
                    output.append(UInt8(ascii: "\n"))
                case "li":
                    output.append(contentsOf: "\n- ".utf8)
                case "a":
                    pendingHref = attribute("href", in: Substring(tag)).map { Array($0.utf8) }
                case "/a":
                    if let href = pendingHref, !output.ends(with: href) {
                        output.append(contentsOf: " (".utf8)
                        output.append(contentsOf: href)
                        output.append(UInt8(ascii: ")"))
                    }
                    pendingHref = nil
                default:
                    break
                }
                index = utf8.index(after: close)
                continue
            }
            if byte == UInt8(ascii: "&"), let semicolon = utf8[index...].prefix(10).firstIndex(of: UInt8(ascii: ";")),
                let decoded = decode(String(decoding: utf8[utf8.index(after: index)..<semicolon], as: UTF8.self))
            {
                output.append(contentsOf: decoded.utf8)
                index = utf8.index(after: semicolon)
                continue
            }
            // A line break in the markup is only a space; NEL, LS and PS (C2 85, E2 80 A8/A9) too.
            if let length = newlineLength(in: utf8, at: index) {
                output.append(UInt8(ascii: " "))
                index = utf8.index(index, offsetBy: length)
                continue
            }
            output.append(byte)
            index = utf8.index(after: index)
        }
        return collapsed(output)
    }

    /// Runs of spaces and of blank lines the markup left behind, collapsed; spaces and line breaks
    /// at either end, trimmed.
    private static func collapsed(_ text: [UInt8]) -> String {
        var lines: [[UInt8]] = []
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let words = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
            var joined: [UInt8] = []
            for (position, word) in words.enumerated() {
                if position > 0 { joined.append(UInt8(ascii: " ")) }
                joined.append(contentsOf: word)
            }
            if joined.isEmpty && (lines.last?.isEmpty ?? true) { continue }
            lines.append(joined)
        }
        var joined: [UInt8] = []
        for (position, line) in lines.enumerated() {
            if position > 0 { joined.append(UInt8(ascii: "\n")) }
            joined.append(contentsOf: line)
        }
        return String(decoding: joined, as: UTF8.self).trimmedOfWhiteSpace
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    /// How many bytes the line break at `index` takes, if one starts there (CR LF counts as one).
    private static func newlineLength(in utf8: String.UTF8View, at index: String.Index) -> Int? {
        switch utf8[index] {
        case 0x0A, 0x0B, 0x0C: return 1
        case 0x0D:
            let next = utf8.index(after: index)
            return next < utf8.endIndex && utf8[next] == 0x0A ? 2 : 1
        case 0xC2:
            let next = utf8.index(after: index)
            return next < utf8.endIndex && utf8[next] == 0x85 ? 2 : nil
        case 0xE2:
            let second = utf8.index(after: index)
            guard second < utf8.endIndex, utf8[second] == 0x80 else { return nil }
            let third = utf8.index(after: second)
            return third < utf8.endIndex && (utf8[third] == 0xA8 || utf8[third] == 0xA9) ? 3 : nil
        default: return nil
        }
    }

    private static func attribute(_ name: String, in tag: Substring) -> String? {
        let utf8 = tag.utf8
        let wanted = Array("\(name)=\"".utf8)
        var start = utf8.startIndex
        while start < utf8.endIndex {
            if utf8.distance(from: start, to: utf8.endIndex) >= wanted.count,
                ASCIIText.matches(wanted, in: tag.base.utf8, at: start, ignoringCase: false)
            {
                let value = utf8.index(start, offsetBy: wanted.count)
                guard let end = utf8[value...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                return plainText(from: String(decoding: utf8[value..<end], as: UTF8.self))
            }
            start = utf8.index(after: start)
        }
        return nil
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

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}
