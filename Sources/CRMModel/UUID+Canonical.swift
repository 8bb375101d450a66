public import Foundation

extension UUID {
    /// The id as the wire and the stores write it: lowercase, the canonical form RFC 9562 asks for.
    ///
    /// Written out from the bytes: Foundation's `uuidString` formats through `snprintf`, then
    /// `lowercased()` copies it again, and every answer, notification and stored row writes ids.
    public var canonicalString: String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            let digits = HexDigits.lowercase
            var position = 0
            withUnsafeBytes(of: uuid) { bytes in
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    buffer[position] = digits[Int(byte >> 4)]
                    buffer[position + 1] = digits[Int(byte & 0x0F)]
                    position += 2
                }
            }
            return position
        }
    }
}

extension UUID {
    /// Reads the 8-4-4-4-12 hex form in either case, as `UUID(uuidString:)` does, without the
    /// `sscanf` that one parses through: every request names ids.
    public init?(hexString string: String) {
        var string = string
        guard let value = string.withUTF8({ Self.parse($0) }) else { return nil }
        self = value
    }

    private static func parse(_ utf8: UnsafeBufferPointer<UInt8>) -> UUID? {
        guard utf8.count == 36 else { return nil }
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed = withUnsafeMutableBytes(of: &value) { bytes -> Bool in
            var position = 0
            for index in 0..<16 {
                if position == 8 || position == 13 || position == 18 || position == 23 {
                    guard utf8[position] == UInt8(ascii: "-") else { return false }
                    position += 1
                }
                guard let high = nibble(utf8[position]), let low = nibble(utf8[position + 1]) else { return false }
                bytes[index] = high << 4 | low
                position += 2
            }
            return true
        }
        return parsed ? UUID(uuid: value) : nil
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
