import CRMModel
import Foundation

/// `JSONValue.serialized()`, the hand-written writer whose string escaping log lines use,
/// against Foundation's reader: whatever JSON came in goes out as JSON that reads back to the same
/// value, and writing that again gives the same bytes.
///
/// A number may come back as the other kind: a whole double past 2^53 is written in exponent form,
/// which Foundation reads as an integer when it fits in Int64. Its value is the same; so numbers
/// are compared by value (to a unit in the last place of a double).
enum JSONTarget {
    static func run(_ data: [UInt8]) {
        // Read by our parser: Foundation's traps on some inputs nested 513 deep (see BoundedJSON).
        guard let value = try? JSONParser.parse(data) else { return }
        let written = value.serialized()
        guard let reread = try? JSONDecoder().decode(JSONValue.self, from: Data(written)) else {
            return require(false, "\(value) was written as \(String(decoding: written, as: UTF8.self)), which is not JSON")
        }
        require(same(reread, value), "\(value) was written as \(String(decoding: written, as: UTF8.self)), which reads back as \(reread)")
    }

    static func same(_ left: JSONValue, _ right: JSONValue) -> Bool {
        switch (left, right) {
        // Past 2^53 an integer and the double nearest a literal may be a unit in the last place apart.
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): (Double(a) - b).magnitude <= b.ulp
        case (.array(let a), .array(let b)): a.count == b.count && zip(a, b).allSatisfy(same)
        case (.object(let a), .object(let b)): a.count == b.count && a.allSatisfy { key, value in b[key].map { same(value, $0) } ?? false }
        default: left == right
        }
    }
}
