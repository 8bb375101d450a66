/// The fuzzer's bytes taken apart into the fields a target needs, separated by 0xFF: a byte that
/// never occurs in UTF-8, so a field's text can hold anything else, NUL and line breaks included.
struct FuzzInput {
    private var rest: ArraySlice<UInt8>

    init(_ bytes: [UInt8]) {
        rest = bytes[...]
    }

    /// The bytes up to the next separator (all that is left when there is none).
    mutating func bytes() -> [UInt8] {
        let end = rest.firstIndex(of: 0xFF) ?? rest.endIndex
        let field = Array(rest[..<end])
        rest = end == rest.endIndex ? rest[end...] : rest[(end + 1)...]
        return field
    }

    /// The next field as text, invalid UTF-8 repaired as any decoder of ours would.
    mutating func string() -> String {
        String(decoding: bytes(), as: UTF8.self)
    }

    /// One byte of the input, 0 once it is used up.
    mutating func byte() -> UInt8 {
        guard let first = rest.first else { return 0 }
        rest = rest.dropFirst()
        return first
    }
}
