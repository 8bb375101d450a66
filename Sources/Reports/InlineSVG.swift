import Foundation

/// cairo's SVG made fit to sit inside an HTML page beside other charts.
///
/// cairo numbers the ids in each file from 1 (glyph0-1, clip1…), so two charts on one page would
/// draw each other's glyphs and clips; every id is therefore prefixed with a hash of the chart's
/// label and text. Only the very same chart drawn twice gets the same prefix; its definitions are
/// then equal too, so it still draws right (though the page then repeats ids).
/// cairo also names the top group after a process-wide surface counter; it is renumbered from 1
/// so the same chart always gives the same bytes.
enum InlineSVG {
    static func make(from svg: String, label: String) -> String {
        var text = Substring(svg)
        if text.hasPrefix("<?xml"), let end = text.range(of: "?>") {
            // An XML declaration is not allowed inside HTML.
            text = text[end.upperBound...]
        }
        let body = renumberingSurfaces(String(text.drop(while: \.isWhitespace)))
        // The label is hashed too: two different charts with nothing to show draw the same picture.
        let prefix = "svg\(String(fnv1a(label + "\n" + body), radix: 36))-"
        var result = body
            .replacingOccurrences(of: " id=\"", with: " id=\"\(prefix)")
            .replacingOccurrences(of: "href=\"#", with: "href=\"#\(prefix)")
            .replacingOccurrences(of: "url(#", with: "url(#\(prefix)")
        if let open = result.range(of: "<svg ") {
            result.replaceSubrange(open, with: "<svg role=\"img\" aria-label=\"\(label.htmlEscaped)\" ")
        }
        return result
    }

    /// Every "surface<digits>" renumbered 1, 2, … in order of first appearance.
    private static func renumberingSurfaces(_ svg: String) -> String {
        let marker = Array("surface".utf8)
        let bytes = Array(svg.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var numbers: [ArraySlice<UInt8>: Int] = [:]
        var index = 0
        while index < bytes.count {
            if bytes[index] == marker[0], bytes[index...].starts(with: marker) {
                let digitsStart = index + marker.count
                var digitsEnd = digitsStart
                while digitsEnd < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[digitsEnd]) { digitsEnd += 1 }
                out.append(contentsOf: marker)
                if digitsEnd > digitsStart {
                    let original = bytes[digitsStart..<digitsEnd]
                    let number = numbers[original] ?? numbers.count + 1
                    numbers[original] = number
                    out.append(contentsOf: String(number).utf8)
                }
                index = digitsEnd
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// 64-bit FNV-1a: short, stable across runs and platforms (unlike `Hasher`, which is seeded).
    private static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
