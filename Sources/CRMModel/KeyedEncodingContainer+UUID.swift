public import Foundation

/// UUIDs go on the wire and into stored JSON in lowercase, the canonical form RFC 9562 asks for;
/// Foundation's own encoding is uppercase. Being more specific than the generic `encode`, these
/// overloads are the ones synthesized `Codable` conformances call.
extension KeyedEncodingContainer {
    public mutating func encode(_ value: UUID, forKey key: Key) throws {
        try encode(value.canonicalString, forKey: key)
    }

    public mutating func encodeIfPresent(_ value: UUID?, forKey key: Key) throws {
        try encodeIfPresent(value?.canonicalString, forKey: key)
    }
}
