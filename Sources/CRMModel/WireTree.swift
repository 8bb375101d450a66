/// A value as `WireEncoder` collects it before writing: objects keep their members in the order
/// they were encoded and are sorted only when written, as Foundation's encoder does with
/// `.sortedKeys`.
///
/// Objects and arrays are classes because `Encoder`'s containers are handed out and written to
/// after the call that made them returns (a nested container fills in its parent's member later).
enum WireTree {
    case null
    case bool(Bool)
    case int(Int64)
    case unsigned(UInt64)
    case double(Double)
    case string(String)
    /// JSON text written as it is (a `Decimal`'s digits).
    case number(String)
    case object(Object)
    case array(Array)
    /// What a `superEncoder` encoded; read when the tree is written, as it may be filled in later.
    case deferred(WireEncoding)

    final class Object {
        var keys: [String] = []
        var values: [WireTree] = []

        func set(_ key: String, _ value: WireTree) {
            keys.append(key)
            values.append(value)
        }

        /// The value last set for `key`, for a nested container asked for again under the same key.
        func last(_ key: String) -> WireTree? {
            keys.lastIndex(of: key).map { values[$0] }
        }
    }

    final class Array {
        var values: [WireTree] = []
    }

    /// Appends the value as JSON: object members sorted by key (a key encoded twice keeps its last
    /// value), no whitespace, strings escaped as Foundation's encoder escapes them without escaped
    /// slashes, doubles as Foundation writes them (`1` for 1.0).
    func write(to bytes: inout [UInt8]) {
        switch self {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let value): bytes.append(contentsOf: (value ? "true" : "false").utf8)
        case .int(let value): Self.appendDecimal(value, to: &bytes)
        case .unsigned(let value): bytes.append(contentsOf: String(value).utf8)
        case .double(let value):
            var text = value.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            bytes.append(contentsOf: text.utf8)
        case .string(let value): Self.appendString(value, to: &bytes)
        case .number(let text): bytes.append(contentsOf: text.utf8)
        case .object(let object):
            bytes.append(UInt8(ascii: "{"))
            let keys = object.keys
            // By the keys' UTF-8 bytes, as Foundation's writer sorts (not `String`'s `<`, which
            // compares normalized text), then by when encoded, so the last of equal keys is kept.
            let order = keys.indices.sorted { left, right in
                if keys[left].utf8.elementsEqual(keys[right].utf8) { return left < right }
                return keys[left].utf8.lexicographicallyPrecedes(keys[right].utf8)
            }
            var first = true
            for (position, index) in order.enumerated() {
                if position + 1 < order.count, keys[order[position + 1]] == keys[index] { continue }
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                Self.appendString(keys[index], to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                object.values[index].write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        case .array(let array):
            bytes.append(UInt8(ascii: "["))
            for (index, value) in array.values.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                value.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .deferred(let encoding):
            (encoding.tree ?? .object(Object())).write(to: &bytes)
        }
    }

    private static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        if value >= 0, value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
    }

    /// Quotes and backslashes escaped; control characters as `\b`, `\f`, `\n`, `\r`, `\t` or
    /// `\u00xx`; everything else (slashes, DEL, non-ASCII) as it is.
    static func appendString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), HexDigits.lowercase[Int(byte >> 4)], HexDigits.lowercase[Int(byte & 0xF)]])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
