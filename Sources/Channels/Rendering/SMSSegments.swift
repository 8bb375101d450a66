/// How many SMS segments a text takes (3GPP TS 23.038).
///
/// Text made only of the GSM 03.38 alphabet travels as GSM-7: 160 septets in one segment, 153 a segment
/// once it is split (the rest carry the concatenation header); characters of the extension table take
/// two septets. Anything else forces UCS-2: 70 UTF-16 units in one segment, 67 once split.
package enum SMSSegments {
    static let basic: Set<Character> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    static let extended: Set<Character> = Set("^{}\\[~]|€\u{0C}")

    package enum Encoding: String, Sendable { case gsm7 = "GSM-7", ucs2 = "UCS-2" }

    package static func encoding(of text: String) -> Encoding {
        text.allSatisfy { basic.contains($0) || extended.contains($0) } ? .gsm7 : .ucs2
    }

    /// Length in the units the encoding counts: septets for GSM-7, UTF-16 units for UCS-2.
    package static func length(of text: String) -> Int {
        switch encoding(of: text) {
        case .gsm7: text.reduce(0) { $0 + (extended.contains($1) ? 2 : 1) }
        case .ucs2: text.utf16.count
        }
    }

    package static func count(for text: String) -> Int {
        let length = length(of: text)
        let (single, multi) = encoding(of: text) == .gsm7 ? (160, 153) : (70, 67)
        if length <= single { return length == 0 ? 0 : 1 }
        return (length + multi - 1) / multi
    }
}

extension SMSSegments {
    /// `text` cut to at most `segments` segments: whole words dropped from the end and `...` put in
    /// their place, links (`http://`, `https://`) never cut and kept at the end. Text that fits, or
    /// that is nothing but links, is returned as it is.
    package static func shortened(_ text: String, toSegments segments: Int) -> String {
        if count(for: text) <= segments { return text }
        let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        let links = words.filter { $0.hasPrefix("https://") || $0.hasPrefix("http://") }
        var kept = words.filter { !links.contains($0) }
        func candidate() -> String {
            ([kept.joined(separator: " ") + "..."] + links).joined(separator: " ")
        }
        while !kept.isEmpty, count(for: candidate()) > segments {
            kept.removeLast()
        }
        return kept.isEmpty ? links.joined(separator: " ") : candidate()
    }
}
