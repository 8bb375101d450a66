import CRMModel
import Foundation

/// Reads one line of input into JSON-RPC 2.0 messages, the way the specification asks:
/// invalid JSON is -32700, valid JSON that is not a request is -32600 (with the request's id when it
/// has a readable one), an empty batch is a single -32600, and each member of a batch stands alone.
///
/// Each id keeps the text the request wrote for it (found by `IDScanner`), so it is echoed byte for byte.
///
/// Input is checked before it is decoded: it must be UTF-8 and nest no deeper than `maxDepth`, so a
/// hostile line can neither crash the decoder nor exhaust the stack.
package struct RPCParser: Sendable {
    package var maxDepth: Int
    /// The most requests one batch may hold. Each member's answer is built before the batch's
    /// answer is written, and an invalid member is answered without waiting for a place under
    /// MAX_IN_FLIGHT: without a bound, one 1 MiB line of `[1,1,...]` (half a million members)
    /// took the memory to 1.9 GB.
    package var maxBatch: Int

    package init(maxDepth: Int = 64, maxBatch: Int = 10_000) {
        self.maxDepth = maxDepth
        self.maxBatch = maxBatch
    }

    package func parse(_ line: [UInt8]) -> IncomingLine {
        // RFC 8259 lets a reader ignore a byte order mark; the id scanner must not see it either.
        let mark = line.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let bytes = mark == 0 ? line : Array(line.dropFirst(mark))
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) { return .blank }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return .unreadable(.parseError("the line is not valid UTF-8"))
        }
        if let depth = Self.depthExceeding(maxDepth, in: bytes) {
            return .unreadable(.parseError("the JSON nests deeper than \(depth - 1) levels"))
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, maxDepth: maxDepth)
        } catch {
            // The byte counted in the line as sent.
            let failure = JSONParser.Failure(reason: error.reason, offset: error.offset + mark)
            return .unreadable(.parseError("the line is not valid JSON: \(failure)"))
        }
        switch value {
        case .array(let members):
            if members.isEmpty { return .unreadable(.invalidRequest("an empty batch is not a request")) }
            if members.count > maxBatch {
                return .unreadable(.invalidRequest("a batch holds at most \(maxBatch) requests; this one has \(members.count): send it in parts"))
            }
            let idRanges = IDScanner.idRanges(in: bytes)
            return .batch(members.enumerated().map { index, member in
                message(from: member, writtenID: idRanges.indices.contains(index) ? idRanges[index] : nil, in: bytes)
            })
        case .object(let members):
            // A notification has no id to look for; the scan would walk its whole line for nothing.
            let idRange = members["id"] == nil ? nil : IDScanner.idRanges(in: bytes).first ?? nil
            return .single(message(from: value, writtenID: idRange, in: bytes))
        default:
            return .unreadable(.invalidRequest("a request is a JSON object, or a batch of them in an array; got a \(value.typeName)"))
        }
    }

    /// `writtenID` is where `IDScanner` found the member's id in `line`.
    private func message(from value: JSONValue, writtenID: Range<Int>?, in line: [UInt8]) -> IncomingMessage {
        guard case .object(let members) = value else {
            return .invalid(.invalidRequest("a batch member must be a request object; got a \(value.typeName)"), id: .null)
        }
        var id: RPCID?
        if let decoded = members["id"] {
            guard let readable = Self.id(decoded, writtenAt: writtenID, in: line) else {
                return .invalid(.invalidRequest("id must be a string, a number or null; got a \(decoded.typeName)"), id: .null)
            }
            id = readable
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

    /// The id whose decoded value is `decoded`, or nil when that is not a string, a number or null.
    ///
    /// What gets echoed is the text the request wrote, trusted only when it is of the kind the decoder
    /// read, so a slip of the scanner could never answer with another id. Without it the decoded value
    /// stands in, exact for strings and for integers that fit in Int64.
    private static func id(_ decoded: JSONValue, writtenAt range: Range<Int>?, in line: [UInt8]) -> RPCID? {
        let written = range.map { line[$0] }
        switch decoded {
        case .null:
            return .null
        case .string(let value):
            guard let written, written.first == UInt8(ascii: "\"") else { return .string(value) }
            return RPCID(value: .string(value), json: String(decoding: written, as: UTF8.self))
        case .int(let value):
            return .number(Self.number(written) ?? String(value))
        case .double(let value):
            return .number(Self.number(written) ?? "\(value)")
        default:
            return nil
        }
    }

    /// `written` as text when it starts as a JSON number does.
    private static func number(_ written: ArraySlice<UInt8>?) -> String? {
        guard let written, let first = written.first,
            first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
        else { return nil }
        return String(decoding: written, as: UTF8.self)
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
