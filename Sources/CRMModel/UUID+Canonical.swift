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
