/// Edits of text around ASCII markers (markup, entities, base64 letters), done on its UTF-8 bytes.
///
/// Why not Foundation's `replacingOccurrences` and `range(of:options:)`: on Linux they go through
/// CFString and ICU, and every email passes through a dozen of them; these do the same work on
/// bytes. They never split a multi-byte character: every byte they look for is ASCII.
enum ASCIIText {
    /// Replacements for ASCII bytes, looked up by the byte; built once, used for every message.
    struct Replacements: Sendable {
        fileprivate var table: [[UInt8]?] = Array(repeating: nil, count: 128)

        init(_ replacements: [Character: String]) {
            for (character, replacement) in replacements {
                guard let byte = character.asciiValue else { preconditionFailure("only ASCII is replaced") }
                table[Int(byte)] = Array(replacement.utf8)
            }
        }

        fileprivate func replacement(for byte: UInt8) -> [UInt8]? {
            byte < 128 ? table[Int(byte)] : nil
        }
    }

    /// `text` with each byte `replacements` names replaced (an empty replacement drops it); `text`
    /// itself when it holds none of them.
    static func replacing(_ replacements: Replacements, in text: String) -> String {
        guard text.utf8.contains(where: { replacements.replacement(for: $0) != nil }) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            if let replacement = replacements.replacement(for: byte) {
                bytes.append(contentsOf: replacement)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Where the last `needle` (ASCII, matched without regard to case) starts in `text`.
    static func lastIndex(ofCaseInsensitive needle: String, in text: String) -> String.Index? {
        let wanted = Array(needle.utf8.map(lowercased))
        let utf8 = text.utf8
        guard !wanted.isEmpty, utf8.count >= wanted.count else { return nil }
        var start = utf8.index(utf8.endIndex, offsetBy: -wanted.count)
        while true {
            if matches(wanted, in: utf8, at: start) { return start }
            if start == utf8.startIndex { return nil }
            start = utf8.index(before: start)
        }
    }

    /// Whether the bytes of `utf8` at `index` are `wanted` (lowercase ASCII when `ignoringCase`).
    static func matches(_ wanted: [UInt8], in utf8: String.UTF8View, at index: String.Index, ignoringCase: Bool = true) -> Bool {
        var position = index
        for byte in wanted {
            guard position < utf8.endIndex, (ignoringCase ? lowercased(utf8[position]) : utf8[position]) == byte else { return false }
            position = utf8.index(after: position)
        }
        return true
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}
