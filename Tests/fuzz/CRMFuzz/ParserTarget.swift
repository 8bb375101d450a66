import CRMModel
import Foundation

/// The strict JSON reader against Foundation's: whatever it accepts, Foundation reads to the same
/// value (it refuses more, never less: trailing commas, UTF-16, a byte order mark, a repeated name's
/// bad value); and whatever JSON our writer produces, it reads back.
///
/// Numbers are compared by value, to a unit in the last place of a double: past 2^53, where a double
/// cannot hold every integer, Foundation reads a literal with a fraction its own way (9233720368547715.08
/// is the Int64 9233720368547715 there, its fraction dropped; the double 9233720368547716 here, rounded).
enum ParserTarget {
    static func run(_ data: [UInt8]) {
        // Foundation's decoder traps on text that ends nested exactly 513 deep (see BoundedJSON).
        guard data.count(where: { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "{") }) < 500 else { return }
        let foundation = try? JSONDecoder().decode(JSONValue.self, from: Data(data))
        guard let strict = try? JSONParser.parse(data) else {
            if let foundation {
                // Its own writing of what Foundation read is plain JSON: that it must read.
                let written = foundation.serialized()
                let reread = try? JSONParser.parse(written)
                require(reread.map { JSONTarget.same($0, foundation) } == true, "our writer's \(String(decoding: written, as: UTF8.self)) does not read back")
            }
            return
        }
        require(foundation.map { JSONTarget.same($0, strict) } == true, "read \(strict); Foundation read \(String(describing: foundation))")
    }
}
