import CRMModel
import Foundation

/// The strict JSON reader against Foundation's: whatever it accepts, Foundation reads to the same
/// value (it refuses more, never less: trailing commas, UTF-16, a byte order mark, a repeated name's
/// bad value); and whatever JSON our writer produces, it reads back.
enum ParserTarget {
    static func run(_ data: [UInt8]) {
        let foundation = try? JSONDecoder().decode(JSONValue.self, from: Data(data))
        guard let strict = try? JSONParser.parse(data) else {
            if let foundation {
                // Its own writing of what Foundation read is plain JSON: that it must read.
                let written = foundation.serialized()
                require((try? JSONParser.parse(written)) == foundation, "our writer's \(String(decoding: written, as: UTF8.self)) does not read back")
            }
            return
        }
        require(foundation == strict, "read \(strict); Foundation read \(String(describing: foundation))")
    }
}
