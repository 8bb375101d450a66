import Foundation

/// Finds where each message's `id` value is written in a line, so the id can be echoed as those very
/// bytes: the decoder has already turned numbers into `Int64` or `Double` and strings into their values.
///
/// It only walks bytes (strings, escapes and nesting) and is meant for a line the decoder has already
/// accepted as JSON; on anything else its answer means nothing, but it never reads out of bounds. A
/// single request usually names its id before its params, and the scan stops there, so a 200 KB
/// `communicate` costs a few dozen bytes; only a batch is walked to its end.
struct IDScanner {
    private let bytes: [UInt8]
    private var index = 0

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// For a line holding an object, one entry: the byte range of its `id` value, nil without one.
    /// For an array, one entry per member: nil for a member that is not an object or has no `id`.
    /// When a key repeats, the first `id` counts, as it does for Foundation's decoder.
    static func idRanges(in bytes: [UInt8]) -> [Range<Int>?] {
        var scanner = IDScanner(bytes: bytes)
        scanner.skipWhitespace()
        switch scanner.current {
        case UInt8(ascii: "{"):
            return [scanner.objectID(scanningToEnd: false)]
        case UInt8(ascii: "["):
            scanner.index += 1
            scanner.skipWhitespace()
            var ranges: [Range<Int>?] = []
            if scanner.current == UInt8(ascii: "]") { return ranges }
            while scanner.index < bytes.count {
                scanner.skipWhitespace()
                if scanner.current == UInt8(ascii: "{") {
                    ranges.append(scanner.objectID(scanningToEnd: true))
                } else {
                    scanner.skipValue()
                    ranges.append(nil)
                }
                scanner.skipWhitespace()
                guard scanner.current == UInt8(ascii: ",") else { break }
                scanner.index += 1
            }
            return ranges
        default:
            return []
        }
    }

    /// 0 past the end, which no JSON token starts with.
    private var current: UInt8 {
        index < bytes.count ? bytes[index] : 0
    }

    /// From the `{` of an object: the range of its first `id` value. With `scanningToEnd` it goes on to
    /// just past the closing `}`, where the next batch member starts; without, it stops at the id.
    private mutating func objectID(scanningToEnd: Bool) -> Range<Int>? {
        index += 1
        var found: Range<Int>?
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { break }
            let keyStart = index
            skipString()
            let isID = found == nil && isIDKey(keyStart..<index)
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { return found }
            index += 1
            skipWhitespace()
            let valueStart = index
            skipValue()
            if isID {
                found = valueStart..<index
                if !scanningToEnd { return found }
            }
            skipWhitespace()
            guard current == UInt8(ascii: ",") else { break }
            index += 1
        }
        if current == UInt8(ascii: "}") { index += 1 }
        return found
    }

    /// Whether the key (quotes included) is `id`; JSON lets it be spelled with escapes, as `"\u0069d"`.
    private func isIDKey(_ key: Range<Int>) -> Bool {
        if key.count == 4 {
            return bytes[key.lowerBound + 1] == UInt8(ascii: "i") && bytes[key.lowerBound + 2] == UInt8(ascii: "d")
        }
        // Two characters spelled with escapes take at most 14 bytes; such keys are rare enough to decode.
        guard key.count <= 14, bytes[key].contains(UInt8(ascii: "\\")) else { return false }
        return (try? JSONDecoder().decode(String.self, from: Data(bytes[key]))) == "id"
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
            default: return
            }
        }
    }

    /// From a value's first byte to just past its last.
    private mutating func skipValue() {
        switch current {
        case UInt8(ascii: "\""):
            skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            skipNested()
        default:
            // A number, true, false or null: it runs until a delimiter.
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"),
                    UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                    return
                default: index += 1
                }
            }
        }
    }

    /// From an opening quote to just past the closing one; an escaped quote does not close.
    ///
    /// Most of a long line is inside strings, so this jumps from quote to quote with `memchr`; a quote
    /// closes when an even number of backslashes stands before it.
    private mutating func skipString() {
        index += 1
        while index < bytes.count {
            let segmentStart = index
            guard let quote = nextQuote(from: index) else {
                index = bytes.count
                return
            }
            var backslashes = 0
            while quote - backslashes > segmentStart && bytes[quote - backslashes - 1] == UInt8(ascii: "\\") {
                backslashes += 1
            }
            index = quote + 1
            if backslashes.isMultiple(of: 2) { return }
        }
    }

    private func nextQuote(from start: Int) -> Int? {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, start < buffer.count,
                let found = memchr(base + start, Int32(UInt8(ascii: "\"")), buffer.count - start)
            else { return nil }
            return UnsafeRawPointer(found) - UnsafeRawPointer(base)
        }
    }

    /// From an opening bracket to just past its matching one; brackets inside strings do not count.
    private mutating func skipNested() {
        var depth = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                skipString()
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
            index += 1
            if depth == 0 { return }
        }
    }
}
