/// A request id as JSON-RPC 2.0 allows it: a string, a number, or null; echoed back exactly.
///
/// A client matches a response to its request by the id, so the response must carry the id the
/// request wrote. A number that went through `Int64` or `Double` does not survive that:
/// `18446744073709551615` came back as `1.8446744073709552e+19`, `1e2` as `100`. So an id keeps its
/// JSON text as the request wrote it and is written back from that text, byte for byte; a string
/// keeps its escapes too.
package struct RPCID: Sendable, Hashable, CustomStringConvertible {
    /// What an id is, for telling ids apart.
    package enum Value: Sendable, Hashable {
        case null
        /// A number by its literal: any conversion would make some distinct ids equal. The same
        /// number spelled two ways (`100`, `1e2`) is two ids, each echoed as it was spelled.
        case number(String)
        /// A string by its value, so escapes that spell the same characters make the same id.
        case string(String)
    }

    package let value: Value
    /// The id as valid JSON, exactly as the request wrote it: what the response writes back.
    package let json: String

    /// `json` must be the JSON text of `value`; the parser takes both from the request line.
    init(value: Value, json: String) {
        self.value = value
        self.json = json
    }

    package static let null = RPCID(value: .null, json: "null")

    /// A number id written as `literal`, which must be a valid JSON number.
    package static func number(_ literal: String) -> RPCID {
        RPCID(value: .number(literal), json: literal)
    }

    /// A string id made in code, written with only the escapes JSON requires.
    package static func string(_ value: String) -> RPCID {
        RPCID(value: .string(value), json: Self.quoted(value))
    }

    package var description: String { json }

    package static func == (lhs: RPCID, rhs: RPCID) -> Bool {
        lhs.value == rhs.value
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(value)
    }

    private static func quoted(_ value: String) -> String {
        var json = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case "\n": json += "\\n"
            case "\r": json += "\\r"
            case "\t": json += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: json.unicodeScalars.append(scalar)
            }
        }
        return json + "\""
    }
}
