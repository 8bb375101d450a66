/// A phone number in E.164 form: `+`, a country code that does not start with 0, at most 15 digits.
///
/// Only the canonical form is accepted; guessing a country for `07700 900123` would send to the wrong
/// person as often as not.
public struct PhoneNumber: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String

    public init(validating raw: String) throws(FieldError) {
        let digits = raw.utf8.dropFirst()
        guard raw.utf8.first == UInt8(ascii: "+"), digits.count >= 7, digits.count <= 15,
            digits.allSatisfy({ (0x30...0x39).contains($0) }), digits.first != UInt8(ascii: "0")
        else {
            throw FieldError(
                field: "",
                reason: "must be an E.164 number: '+', then 7 to 15 digits with no spaces or punctuation, not starting with 0 (such as +14155552671)"
            )
        }
        value = raw
    }

    public var description: String { value }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(validating: raw) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.reason))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
