import CRMModel
import Testing

@testable import RPC

@Suite("Reading a line as JSON-RPC 2.0")
struct RPCParserTests {
    let parser = RPCParser(maxDepth: 8)

    func parse(_ text: String) -> IncomingLine {
        parser.parse(Array(text.utf8))
    }

    func code(of line: IncomingLine) -> Int? {
        switch line {
        case .unreadable(let error): error.code
        case .single(.invalid(let error, _)): error.code
        default: nil
        }
    }

    @Test("a batch of more than maxBatch requests is refused whole, at the bound it is read")
    func batchBound() {
        let small = RPCParser(maxDepth: 8, maxBatch: 3)
        let member = #"{"jsonrpc":"2.0","method":"health","id":1}"#
        guard case .batch(let three) = small.parse(Array("[\(member),\(member),\(member)]".utf8)) else {
            Issue.record("a batch at the bound was not read")
            return
        }
        #expect(three.count == 3)
        #expect(code(of: small.parse(Array("[\(member),\(member),\(member),1]".utf8))) == -32600)
    }

    @Test("a byte order mark is skipped: the id after it is echoed as written, a refusal counts it in its byte")
    func byteOrderMark() {
        guard case .single(.request(let request)) = parse("\u{FEFF}" + #"{"jsonrpc":"2.0","id":1e2,"method":"health"}"#) else {
            Issue.record("a request after a byte order mark was not read")
            return
        }
        #expect(request.id?.json == "1e2")
        guard case .unreadable(let error) = parse("\u{FEFF}[1,]") else {
            Issue.record("a trailing comma was read")
            return
        }
        #expect(error.message.hasSuffix("the line is not valid JSON: a value cannot start with ']' at byte 7"))
        guard case .blank = parse("\u{FEFF}  ") else {
            Issue.record("a byte order mark and spaces are not a blank line")
            return
        }
    }

    @Test("a request keeps its id, method and params")
    func request() {
        guard case .single(.request(let request)) = parse(#"{"jsonrpc":"2.0","id":"7","method":"health","params":{"a":1}}"#) else {
            Issue.record("not a request")
            return
        }
        #expect(request == RPCRequest(id: .string("7"), method: "health", params: .object(["a": .int(1)])))
    }

    @Test("a notification has no id; a null id is a request", arguments: [
        (#"{"jsonrpc":"2.0","method":"health"}"#, RPCID?.none),
        (#"{"jsonrpc":"2.0","method":"health","id":null}"#, RPCID?.some(.null)),
        (#"{"jsonrpc":"2.0","method":"health","id":3}"#, RPCID?.some(.number("3"))),
        (#"{"jsonrpc":"2.0","method":"health","id":3.5}"#, RPCID?.some(.number("3.5"))),
    ])
    func ids(_ text: String, _ id: RPCID?) {
        guard case .single(.request(let request)) = parse(text) else {
            Issue.record("not a request")
            return
        }
        #expect(request.id == id)
    }

    @Test("the specification's error cases", arguments: [
        (#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#, -32700),
        (#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#, -32600),
        (#"{"jsonrpc": "1.0", "method": "health", "id": 1}"#, -32600),
        (#"{"method": "health", "id": 1}"#, -32600),
        (#"{"jsonrpc": "2.0", "method": "health", "id": {}}"#, -32600),
        (#"{"jsonrpc": "2.0", "method": "health", "params": 5}"#, -32600),
        ("[]", -32600),
        ("42", -32600),
        (#"[[[[[[[[[1]]]]]]]]]"#, -32700),
    ])
    func errors(_ text: String, _ expected: Int) {
        #expect(code(of: parse(text)) == expected)
    }

    @Test("an invalid request with a readable id keeps the id")
    func invalidKeepsID() {
        guard case .single(.invalid(_, let id)) = parse(#"{"jsonrpc":"1.0","method":"x","id":"k"}"#) else {
            Issue.record("expected an invalid message")
            return
        }
        #expect(id == .string("k"))
    }

    @Test("an invalid request keeps its id as written, a number too")
    func invalidKeepsWrittenID() {
        guard case .single(.invalid(let error, let id)) = parse(#"{"jsonrpc":"1.0","method":"x","id":18446744073709551615}"#) else {
            Issue.record("expected an invalid message")
            return
        }
        #expect(error.code == -32600)
        #expect(id.json == "18446744073709551615")
    }

    @Test("an id that is not a string, a number or null is refused with a null id", arguments: [
        #"{"jsonrpc":"2.0","method":"health","id":true}"#,
        #"{"jsonrpc":"2.0","method":"health","id":[1]}"#,
        #"{"jsonrpc":"2.0","method":"health","id":{"id":1}}"#,
    ])
    func idOfAnotherType(_ text: String) {
        guard case .single(.invalid(let error, let id)) = parse(text) else {
            Issue.record("expected an invalid message")
            return
        }
        #expect(error.code == -32600)
        #expect(id == .null && id.json == "null")
    }

    @Test("each batch member keeps its own id as written")
    func batchIDs() {
        let line = #"[{"jsonrpc":"2.0","method":"health","id":1e2}, 5, {"jsonrpc":"2.0","method":"health"},"#
            + #" {"jsonrpc":"1.0","method":"health","id":"a\u00e9"}, {"id":-0.0,"jsonrpc":"2.0","method":"health"}]"#
        guard case .batch(let members) = parse(line) else {
            Issue.record("not a batch")
            return
        }
        let ids = members.map { member -> String? in
            switch member {
            case .request(let request): request.id?.json
            case .invalid(_, let id): id.json
            }
        }
        #expect(ids == ["1e2", "null", nil, #""a\u00e9""#, "-0.0"])
    }

    @Test("each batch member stands alone")
    func batch() {
        guard case .batch(let members) = parse(#"[1, {"jsonrpc":"2.0","method":"health","id":1}, {"foo":"boo"}]"#) else {
            Issue.record("not a batch")
            return
        }
        #expect(members.map(\.isRequest) == [false, true, false])
    }

    @Test("brackets inside strings do not count towards the depth")
    func depthIgnoresStrings() {
        #expect(RPCParser.depthExceeding(2, in: Array(#"{"a":"[[[[[[[[{{{{\"]]"}"#.utf8)) == nil)
        #expect(RPCParser.depthExceeding(2, in: Array(#"{"a":{"b":[1]}}"#.utf8)) == 3)
    }

    @Test("invalid UTF-8 is a parse error, blank lines are nothing")
    func encodingAndBlank() {
        #expect(code(of: parser.parse([0x7B, 0xFF, 0x7D])) == -32700)
        guard case .blank = parse(" \t ") else {
            Issue.record("blank line not ignored")
            return
        }
    }
}
