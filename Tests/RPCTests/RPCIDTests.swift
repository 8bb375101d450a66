import CRMModel
import Foundation
import Testing

@testable import RPC

@Suite("A response carries the request's id exactly as it was written")
struct RPCIDTests {
    let parser = RPCParser()

    func parsed(_ text: String) -> RPCRequest? {
        guard case .single(.request(let request)) = parser.parse(Array(text.utf8)) else { return nil }
        return request
    }

    func encoded(_ response: RPCResponse) throws -> String {
        var bytes: [UInt8] = []
        try response.encode(using: WireJSON.makeEncoder(), into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("a number id is echoed byte for byte, beyond Int64 and Double too", arguments: [
        "0", "-1", "9007199254740993", "18446744073709551615", "1e2", "1.5",
        "-0", "1E+2", "-1.0e-3", "123456789012345678901234567890", "0.10000000000000000000001",
    ])
    func numbers(_ literal: String) throws {
        let request = try #require(parsed(#"{"jsonrpc":"2.0","id":"# + literal + #","method":"health"}"#))
        #expect(request.id == .number(literal))
        #expect(try encoded(RPCResponse(id: try #require(request.id), outcome: .result(["ok": true])))
            == #"{"id":"# + literal + #","jsonrpc":"2.0","result":{"ok":true}}"#)
    }

    @Test("a string id is echoed with its escapes as written", arguments: [
        #""abc-1""#, #""""#, #""é""#, #""\u00e9""#, #""a\"b\\c\/d\n""#, #""\ud83d\ude00""#,
    ])
    func strings(_ json: String) throws {
        let request = try #require(parsed(#"{"jsonrpc":"2.0","id":"# + json + #","method":"health"}"#))
        let id = try #require(request.id)
        #expect(id.json == json)
        #expect(id.value == .string(try JSONDecoder().decode(String.self, from: Data(json.utf8))))
        #expect(try encoded(.error(.methodNotFound("x", known: []), id: id)).hasSuffix(#","id":"# + json + #","jsonrpc":"2.0"}"#))
    }

    @Test("an error response writes the error, then the id, then jsonrpc")
    func errorLayout() throws {
        let text = try encoded(.error(.internalError, id: .number("1e2")))
        #expect(text == #"{"error":{"code":-32603,"message":"Internal error: the sidecar logged the details on stderr"},"id":1e2,"jsonrpc":"2.0"}"#)
    }

    @Test("a result that cannot be encoded leaves the bytes as they were, for the internal error to follow")
    func unencodableResult() {
        var bytes = Array("[".utf8)
        #expect(throws: EncodingError.self) {
            try RPCResponse(id: .number("1"), outcome: .result(["x": Double.nan])).encode(using: WireJSON.makeEncoder(), into: &bytes)
        }
        #expect(bytes == Array("[".utf8))
    }

    @Test("the id is found wherever it stands, and only at the top of the message", arguments: [
        (#"{ "jsonrpc" : "2.0" , "method" : "health" , "id" : 1e2 }"#, "1e2"),
        (#"{"params":{"id":5,"list":[{"id":6}]},"jsonrpc":"2.0","method":"health","id":7.0}"#, "7.0"),
        (#"{"method":"x\"id\":9","params":["}]",{"a":"\\"}],"jsonrpc":"2.0","id":3E0}"#, "3E0"),
        (#"{"a":"\\\\","b":"\\\"id\":2","jsonrpc":"2.0","method":"health","id":4}"#, "4"),
        (#"{"jsonrpc":"2.0","method":"health","\u0069d":10.00}"#, "10.00"),
        (#"{"jsonrpc":"2.0","method":"health","i\u0064":"x"}"#, #""x""#),
        ("{\"jsonrpc\":\"2.0\",\n\t\"method\":\"health\",\r\"id\"\n:\t-5}", "-5"),
    ])
    func whereTheIDStands(_ line: String, _ json: String) throws {
        #expect(try #require(parsed(line)).id?.json == json)
    }

    @Test("when the id is repeated, the one the decoder read is the one echoed")
    func repeatedID() throws {
        let id = try #require(parsed(#"{"jsonrpc":"2.0","method":"health","id":1.50,"id":"b"}"#)?.id)
        #expect(id == .number("1.50"))
    }

    @Test("ids compare as what they are: a number by its literal, a string by its value")
    func identity() throws {
        let escaped = try #require(parsed(#"{"jsonrpc":"2.0","method":"health","id":"\u0061"}"#)?.id)
        #expect(escaped == .string("a"))
        #expect(Set([escaped, .string("a")]).count == 1)
        #expect(RPCID.number("100") != .number("1e2"))
        #expect(RPCID.string("1") != .number("1"))
        #expect(RPCID.null == .null)
    }

    @Test("a string id made in code is written with the escapes JSON requires")
    func stringMadeInCode() throws {
        let id = RPCID.string("a\"b\\c\n\u{1}é/")
        #expect(id.json == #""a\"b\\c\n\u0001é/""#)
        #expect(try JSONDecoder().decode(String.self, from: Data(id.json.utf8)) == "a\"b\\c\n\u{1}é/")
    }

    @Test("the scanner gives one range per batch member, nil where there is no id")
    func scannerOnABatch() {
        let line = Array(#"[ {"id":1}, [ {"id":2} ], {"a":{"id":3}}, "id", {"x":"]","id":"4"} , null ]"#.utf8)
        let texts = IDScanner.idRanges(in: line).map { $0.map { String(decoding: line[$0], as: UTF8.self) } }
        #expect(texts == ["1", nil, nil, nil, #""4""#, nil])
    }

    @Test("the scanner never reads past the end of a line, whatever it holds")
    func scannerOnCutLines() {
        let whole = Array(#"[{"jsonrpc":"2.0","params":{"s":"\\\"}]"},"id":"\"q\\"}, {"id":12e3}]"#.utf8)
        for end in 0...whole.count {
            let line = Array(whole[..<end])
            for range in IDScanner.idRanges(in: line) {
                if let range { #expect(range.upperBound <= line.count) }
            }
        }
    }
}
