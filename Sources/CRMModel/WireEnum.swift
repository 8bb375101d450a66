/// A string enum of the wire format. Decoding an unknown value fails with the accepted values listed
/// (Foundation's own message names the rejected value instead, which may be anything a caller sent).
protocol WireEnum: RawRepresentable, CaseIterable, Decodable where RawValue == String {}

extension WireEnum {
    static func decode(from decoder: any Decoder) throws -> Self {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "must be one of: " + allCases.map(\.rawValue).joined(separator: ", ")
            ))
        }
        return value
    }
}
