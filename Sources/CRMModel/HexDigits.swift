/// The lowercase hexadecimal digits as ASCII bytes, for the writers that spell bytes out (UUIDs,
/// JSON's `\u00xx` escapes).
enum HexDigits {
    static let lowercase: [UInt8] = Array("0123456789abcdef".utf8)
}
