public import Foundation

/// Decodes `Decodable` values from a `JSONValue` already read, with the wire's conventions
/// (`WireJSON`): RFC 3339 times, base64 data.
///
/// Why not Foundation's decoder: a request's params are read once, by our parser, for the JSON-RPC
/// envelope. Handing them to Foundation meant writing them out as text and parsing that again, and
/// that was the most costly part of answering `communicate` after storing it.
///
/// Errors are the `DecodingError`s Foundation's decoder throws, with the same coding paths, so
/// callers tell the field and the fault the same way. Two faults read better than Foundation has them:
/// a fraction for an integer is "must be a whole number", and a number out of an integer type's range
/// says the range, both at the field's path (Foundation reports the first without one).
///
/// A `JSONValue` inside the value (a request's `context`) is the parser's own, except that a whole
/// number written with a fraction (`2.0`, `-0.0`) becomes an integer, as it did through Foundation:
/// what the sidecar stores, echoes and fingerprints for an idempotency key stays as it was. Not
/// handled specially, unlike Foundation: `Decimal` and 128-bit integers; no params use them.
public struct WireDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try WireDecoding(value).decodeValue(T.self)
    }
}
