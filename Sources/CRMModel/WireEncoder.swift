public import Foundation

/// Encodes `Encodable` values as the wire's JSON (`WireJSON`): what Foundation's `JSONEncoder` with
/// `.sortedKeys`, `.withoutEscapingSlashes` and the wire's dates writes, byte for byte, for the
/// values the sidecar sends and stores.
///
/// Why not Foundation's: every answer, notification, stored row and logged event is encoded, and
/// Foundation's encoder (generic boxes, a dynamic cast per value for its special types, a coding
/// path kept for every value) was a tenth of the CPU of a sent email. This one keeps the same
/// two-step shape (collect the value, then write it with sorted keys) without those costs.
///
/// Keys are sorted by their UTF-8 bytes, as Foundation's `.sortedKeys` sorts them; a key encoded
/// twice in one object keeps its last value. Not handled, unlike Foundation: 128-bit integers
/// (their default encoding throws); the sidecar encodes none.
public struct WireEncoder: Sendable {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> Data {
        var bytes: [UInt8] = []
        try append(value, to: &bytes)
        return Data(bytes)
    }

    /// Appends `value` as JSON; on a throw, `bytes` is left as it was.
    public func append<T: Encodable>(_ value: T, to bytes: inout [UInt8]) throws {
        let encoding = WireEncoding()
        try encoding.encodeValue(value)
        guard let tree = encoding.tree else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        tree.write(to: &bytes)
    }
}
