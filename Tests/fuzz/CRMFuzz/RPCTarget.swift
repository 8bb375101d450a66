import CRMModel
import Foundation
import RPC

/// The JSON-RPC parser on any line: it answers every line, each answer is valid JSON, and each
/// answer carries the id its request wrote (the id's text is found by a scanner of its own, which
/// must never pick another member's id).
enum RPCTarget {
    static let parser = RPCParser(maxDepth: 16, maxBatch: 16)

    static func run(_ line: [UInt8]) {
        // What the parser read, for the ids' values; the ids' texts come from a scanner of their own.
        let decoded = try? JSONParser.parse(line.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(line.dropFirst(3)) : line)
        switch parser.parse(line) {
        case .blank:
            // A byte order mark before the line is skipped, as RFC 8259 allows.
            let content = line.starts(with: [0xEF, 0xBB, 0xBF]) ? line.dropFirst(3) : line[...]
            require(content.allSatisfy { [0x20, 0x09, 0x0D, 0x0A].contains($0) }, "a line with content was taken for blank")
        case .unreadable(let error):
            require([-32700, -32600].contains(error.code), "a line was refused with \(error.code)")
            answer(.error(error, id: .null))
        case .single(let message):
            check(message, against: decoded)
        case .batch(let messages):
            require(!messages.isEmpty && messages.count <= parser.maxBatch, "a batch of \(messages.count) was accepted")
            guard case .array(let members) = decoded, members.count == messages.count else {
                return require(false, "a batch that Foundation does not read as an array of as many members")
            }
            for (message, member) in zip(messages, members) {
                check(message, against: member)
            }
        }
    }

    /// `value` is what Foundation's decoder read for this message, when it read the line at all.
    static func check(_ message: IncomingMessage, against value: JSONValue?) {
        let id: RPCID
        switch message {
        case .request(let request):
            guard let requestID = request.id else { return }
            id = requestID
            answer(RPCResponse(id: id, outcome: .result(JSONValue.null)))
        case .invalid(let error, let invalidID):
            require(error.code == -32600, "a member was refused with \(error.code)")
            id = invalidID
            answer(.error(error, id: id))
        }
        // The id's value is what the decoder read; the text echoed is what the scanner found.
        let echoed = try? JSONDecoder().decode(JSONValue.self, from: Data(id.json.utf8))
        switch id.value {
        case .null: require(echoed == .null, "a null id is echoed as \(id.json)")
        case .string(let value): require(echoed == .string(value), "the string id \(value.debugDescription) is echoed as \(id.json)")
        case .number(let literal): require(echoed.map(number) == Double(literal), "the number id \(literal) is echoed as \(id.json)")
        }
        guard case .object(let members) = value, let written = members["id"] else { return }
        switch (written, id.value) {
        case (.string(let expected), .string(let found)):
            require(expected == found, "the id \(found.debugDescription) was answered for \(expected.debugDescription)")
        case (.int(let expected), .number(let literal)):
            require(Double(literal) == Double(expected), "the id \(literal) was answered for \(expected)")
        case (.double(let expected), .number(let literal)):
            require(Double(literal) == expected, "the id \(literal) was answered for \(expected)")
        case (.null, .null), (.bool, .null), (.array, .null), (.object, .null):
            break
        default:
            require(false, "the id \(id.json) was answered for \(written)")
        }
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let integer): Double(integer)
        case .double(let double): double
        default: nil
        }
    }

    /// Writes the answer and reads it back: it must be one JSON object whose id is the id's JSON.
    static func answer(_ response: RPCResponse) {
        var bytes: [UInt8] = []
        do {
            try response.encode(using: WireJSON.makeEncoder(), into: &bytes)
        } catch {
            return require(false, "an answer could not be written: \(error)")
        }
        guard case .object(let members) = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
            return require(false, "an answer is not a JSON object: \(String(decoding: bytes, as: UTF8.self))")
        }
        require(members["jsonrpc"] == .string("2.0") && members["id"] != nil, "an answer lacks jsonrpc or id")
        let idValue = try? JSONDecoder().decode(JSONValue.self, from: Data(response.id.json.utf8))
        require(idValue != nil && members["id"] == idValue, "the answer's id is not the id's text \(response.id.json)")
    }
}
