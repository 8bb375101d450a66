/// A request id as JSON-RPC 2.0 allows it: a string, a number, or null; echoed back exactly.
package enum RPCID: Sendable, Hashable, Encodable {
    case null
    case int(Int64)
    case double(Double)
    case string(String)

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        }
    }
}
