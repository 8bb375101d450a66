package import CRMModel
package import Foundation

/// Foundation's JSON decoding of bodies that come from outside (webhooks, provider responses), read
/// by our strict parser first, nesting at most 64 levels.
///
/// Foundation's JSONDecoder traps (SIGILL, the whole sidecar down) on a body that ends nested
/// exactly 513 levels deep, `[` 513 times, or `{"entry":` and `[` 512 times: found by script/fuzz's
/// parser target, whose reference it was. No body we read nests more than a few levels.
package enum BoundedJSON {
    package static let maxDepth = 64

    /// The value of `type` in `body`, or nil when the body is not JSON, nests too deep, or is not one.
    package static func decode<T: Decodable>(_ type: T.Type, from body: Data) -> T? {
        guard (try? JSONParser.parse([UInt8](body), maxDepth: maxDepth)) != nil else { return nil }
        return try? JSONDecoder().decode(type, from: body)
    }
}
