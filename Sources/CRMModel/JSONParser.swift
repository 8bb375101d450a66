/// Reads one JSON text (RFC 8259) into a `JSONValue`, strictly: what the RFC does not allow is
/// refused, with the reason and where.
///
/// Foundation's decoder, which read request lines before, is lenient where a JSON-RPC peer should
/// not be: it takes UTF-16 and UTF-32 text, a trailing comma, a byte order mark, and leaves the value
/// of a repeated name unchecked (`{"a":1,"a":01}`). It was also the largest single cost of reading a
/// request. Numbers are read into the kinds Foundation gives (below 2^53; past it, a literal with a
/// fraction may come out as the other kind, the same number to a double's precision), so nothing
/// downstream sees a change:
/// an integer literal that fits is an `Int64`, so is a literal with a fraction or exponent whose value
/// is a whole number that fits (`1e2`, `100.0`) or whose double is whole within 2^53; anything else
/// is a finite `Double`. Of a name given
/// twice in one object the first counts (so does `IDScanner`), and every value is still checked.
public struct JSONParser {
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        /// Where in the text, counting bytes from 0.
        public var offset: Int

        public init(reason: String, offset: Int) {
            self.reason = reason
            self.offset = offset
        }

        public var description: String { "\(reason) at byte \(offset + 1)" }
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private let maxDepth: Int
    private var index = 0

    private init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// The value `text` holds, with white space around it allowed and nothing else.
    public static func parse(_ text: [UInt8], maxDepth: Int = 512) throws(Failure) -> JSONValue {
        try text.withUnsafeBufferPointer { (bytes) throws(Failure) -> JSONValue in
            var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
            parser.skipWhiteSpace()
            let value = try parser.value(depth: 1)
            parser.skipWhiteSpace()
            guard parser.index == bytes.count else { throw parser.failure("more text after the JSON value") }
            return value
        }
    }

    private var next: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func failure(_ reason: String) -> Failure {
        Failure(reason: reason, offset: index)
    }

    private mutating func skipWhiteSpace() {
        while let byte = next, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            index += 1
        }
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard let byte = next else { throw failure("the text ends where a value should be") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure(byte < 0x80 && byte >= 0x20 ? "a value cannot start with '\(Character(Unicode.Scalar(byte)))'" : "a value cannot start with byte \(byte)")
        }
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= maxDepth else { throw failure("the JSON nests deeper than \(maxDepth) levels") }
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhiteSpace()
        if next == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            guard next == UInt8(ascii: "\"") else { throw failure("expected a member's name in double quotes") }
            let name = try string()
            skipWhiteSpace()
            guard next == UInt8(ascii: ":") else { throw failure("expected ':' after a member's name") }
            index += 1
            skipWhiteSpace()
            let value = try value(depth: depth + 1)
            if members[name] == nil { members[name] = value }
            skipWhiteSpace()
            switch next {
            case UInt8(ascii: ","): index += 1; skipWhiteSpace()
            case UInt8(ascii: "}"): index += 1; return .object(members)
            default: throw failure("expected ',' or '}' after an object's member")
            }
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= maxDepth else { throw failure("the JSON nests deeper than \(maxDepth) levels") }
        index += 1
        var elements: [JSONValue] = []
        skipWhiteSpace()
        if next == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth + 1))
            skipWhiteSpace()
            switch next {
            case UInt8(ascii: ","): index += 1; skipWhiteSpace()
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw failure("expected ',' or ']' after an array's element")
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard bytes.count - index >= expected.count, bytes[index..<index + expected.count].elementsEqual(expected) else {
            throw failure("expected \(word)")
        }
        index += expected.count
    }

    /// A string at `index` (its opening quote), unescaped. Text without escapes, most of it, is
    /// taken in one piece.
    private mutating func string() throws(Failure) -> String {
        index += 1
        let start = index
        while let byte = next, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw failure("a control character in a string must be escaped") }
            index += 1
        }
        guard let end = next else { throw failure("a string is not closed") }
        if end == UInt8(ascii: "\"") {
            let text = try utf8(start..<index)
            index += 1
            return text
        }
        var unescaped = Array(bytes[start..<index])
        while let byte = next {
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: unescaped, as: UTF8.self) else {
                    throw Failure(reason: "a string is not valid UTF-8", offset: start)
                }
                index += 1
                return text
            case UInt8(ascii: "\\"):
                index += 1
                try escape(into: &unescaped)
            default:
                guard byte >= 0x20 else { throw failure("a control character in a string must be escaped") }
                unescaped.append(byte)
                index += 1
            }
        }
        throw failure("a string is not closed")
    }

    private func utf8(_ range: Range<Int>) throws(Failure) -> String {
        guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) else {
            throw Failure(reason: "a string is not valid UTF-8", offset: range.lowerBound)
        }
        return text
    }

    /// The escape after a backslash, appended as UTF-8.
    private mutating func escape(into text: inout [UInt8]) throws(Failure) {
        guard let byte = next else { throw failure("a string is not closed") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(byte)
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "n"): text.append(0x0A)
        case UInt8(ascii: "r"): text.append(0x0D)
        case UInt8(ascii: "t"): text.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xDC00...0xDFFF).contains(scalar) { throw failure("a low surrogate without a high one before it") }
            if (0xD800...0xDBFF).contains(scalar) {
                guard next == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw failure("a high surrogate without a low one after it")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("a high surrogate without a low one after it") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            text.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
        default:
            index -= 1
            throw failure("an unknown escape in a string")
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure("\\u needs four hexadecimal digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("\\u needs four hexadecimal digits")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private mutating func digits() -> Int {
        let start = index
        while let byte = next, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            index += 1
        }
        return index - start
    }

    private mutating func number() throws(Failure) -> JSONValue {
        let start = index
        let negative = next == UInt8(ascii: "-")
        if negative { index += 1 }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0 else { throw failure("expected a digit") }
        if integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0") {
            throw Failure(reason: "a number cannot start with 0 and more digits", offset: integerStart)
        }
        var whole = true
        if next == UInt8(ascii: ".") {
            whole = false
            index += 1
            guard digits() > 0 else { throw failure("expected a digit after the decimal point") }
        }
        if next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            whole = false
            index += 1
            if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw failure("expected a digit in the exponent") }
        }
        if whole, let value = Self.integer(bytes[integerStart..<index], negative: negative) {
            return .int(value)
        }
        if !whole, let value = Self.exactInteger(bytes[integerStart..<index], negative: negative) {
            return .int(value)
        }
        guard let value = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)), value.isFinite else {
            throw Failure(reason: "a number too large for a double", offset: start)
        }
        // Foundation's rule too: a whole double within 2^53 is an integer (`1.0000000000000001` is 1);
        // past it a double stays one (an integer literal past Int64 as well).
        if !whole, value.magnitude <= 9_007_199_254_740_992, let value = Int64(exactly: value) { return .int(value) }
        return .double(value)
    }

    /// A literal with a fraction or an exponent whose value is exactly a whole number in Int64's range
    /// (`1e2`, `9007199254740993.0`, `9.2e18`), as that number: computed from the digits, as Foundation
    /// does, not through a double that would round it.
    private static func exactInteger(_ literal: Slice<UnsafeBufferPointer<UInt8>>, negative: Bool) -> Int64? {
        var digits: [UInt8] = []
        var exponent = 0
        var position = literal.startIndex
        var afterPoint = false
        while position < literal.endIndex, literal[position] != UInt8(ascii: "e"), literal[position] != UInt8(ascii: "E") {
            if literal[position] == UInt8(ascii: ".") {
                afterPoint = true
            } else {
                digits.append(literal[position] - UInt8(ascii: "0"))
                if afterPoint { exponent -= 1 }
            }
            position += 1
        }
        if position < literal.endIndex {
            position += 1
            let sign = literal[position] == UInt8(ascii: "-") ? -1 : 1
            if literal[position] == UInt8(ascii: "-") || literal[position] == UInt8(ascii: "+") { position += 1 }
            var written = 0
            while position < literal.endIndex {
                // Clamped: anything past 18 is out of range anyway, and a long exponent must not overflow.
                written = min(written * 10 + Int(literal[position] - UInt8(ascii: "0")), 1_000)
                position += 1
            }
            exponent += sign * written
        }
        while digits.last == 0 {
            digits.removeLast()
            exponent += 1
        }
        guard !digits.isEmpty else { return 0 }
        guard exponent >= 0, digits.count + exponent <= 20 else { return nil }
        // Counted up and then negated, as Foundation does: -9223372036854775808.0 is a double there.
        var value: Int64 = 0
        for digit in digits + repeatElement(0, count: exponent) {
            let (shifted, overflowMultiply) = value.multipliedReportingOverflow(by: 10)
            let (added, overflowAdd) = shifted.addingReportingOverflow(Int64(digit))
            if overflowMultiply || overflowAdd { return nil }
            value = added
        }
        return negative ? -value : value
    }

    /// Decimal digits as an Int64, nil past its range.
    private static func integer(_ digits: Slice<UnsafeBufferPointer<UInt8>>, negative: Bool) -> Int64? {
        var value: Int64 = 0
        for byte in digits {
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (shifted, overflowMultiply) = value.multipliedReportingOverflow(by: 10)
            let (added, overflowAdd) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            if overflowMultiply || overflowAdd { return nil }
            value = added
        }
        return value
    }
}
