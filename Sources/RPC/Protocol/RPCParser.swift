import CRMModel
import Foundation

/// Reads one line of input into JSON-RPC 2.0 messages, the way the specification asks:
/// invalid JSON is -32700, valid JSON that is not a request is -32600 (with the request's id when it
/// has a readable one), an empty batch is a single -32600, and each member of a batch stands alone.
///
/// Input is checked before it is decoded: it must be UTF-8 and nest no deeper than `maxDepth`, so a
/// hostile line can neither crash the decoder nor exhaust the stack.
package struct RPCParser: Sendable {
    package var maxDepth: Int

    package init(maxDepth: Int = 64) {
        self.maxDepth = maxDepth
    }

    package func parse(_ bytes: [UInt8]) -> IncomingLine {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) { return .blank }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return .unreadable(.parseError("the line is not valid UTF-8"))
        }
        if let depth = Self.depthExceeding(maxDepth, in: bytes) {
            return .unreadable(.parseError("the JSON nests deeper than \(depth - 1) levels"))
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            return .unreadable(.parseError("the line is not valid JSON"))
        }
        switch value {
        case .array(let members):
            if members.isEmpty { return .unreadable(.invalidRequest("an empty batch is not a request")) }
            return .batch(members.map(message(from:)))
        case .object:
            return .single(message(from: value))
        default:
            return .unreadable(.invalidRequest("a request is a JSON object, or a batch of them in an array; got a \(value.typeName)"))
        }
    }

    private func message(from value: JSONValue) -> IncomingMessage {
        guard case .object(let members) = value else {
            return .invalid(.invalidRequest("a batch member must be a request object; got a \(value.typeName)"), id: .null)
        }
        var id: RPCID?
        switch members["id"] {
        case nil: id = nil
        case .null: id = .null
        case .string(let value): id = .string(value)
        case .int(let value): id = .int(value)
        case .double(let value): id = .double(value)
        case .some(let other):
            return .invalid(.invalidRequest("id must be a string, a number or null; got a \(other.typeName)"), id: .null)
        }
        guard members["jsonrpc"] == .string("2.0") else {
            return .invalid(.invalidRequest("the member jsonrpc must be exactly \"2.0\""), id: id ?? .null)
        }
        guard case .string(let method) = members["method"] else {
            return .invalid(.invalidRequest("the member method must be a string"), id: id ?? .null)
        }
        let params = members["params"]
        switch params {
        case nil, .object, .array: break
        case .some(let other):
            return .invalid(.invalidRequest("params must be an object or an array; got a \(other.typeName)"), id: id ?? .null)
        }
        return .request(RPCRequest(id: id, method: method, params: params))
    }

    /// The depth reached past `limit`, or nil when the JSON stays within it. Brackets inside strings
    /// do not count.
    static func depthExceeding(_ limit: Int, in bytes: [UInt8]) -> Int? {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return depth }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return nil
    }
}
