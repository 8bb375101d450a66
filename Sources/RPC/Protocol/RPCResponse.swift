package import CRMModel

/// A JSON-RPC response: a result or an error, for one id.
///
/// Not `Encodable`: no encoder can write the id's text as the request wrote it, so a response is
/// only written by `encode(using:into:)`, and nothing can send one with a rewritten id.
package struct RPCResponse: Sendable {
    package enum Outcome: Sendable {
        case result(any Encodable & Sendable)
        case error(RPCError)
    }

    package var id: RPCID
    package var outcome: Outcome

    package init(id: RPCID, outcome: Outcome) {
        self.id = id
        self.outcome = outcome
    }

    package static func error(_ error: RPCError, id: RPCID) -> RPCResponse {
        RPCResponse(id: id, outcome: .error(error))
    }

    /// Appends the response as one JSON object: the result or error from `encoder`, the id as its
    /// text. The members come in the order a sorted-keys encoder would put them, as before ids were
    /// echoed as written. On a throw, `bytes` is left as it was.
    package func encode(using encoder: WireEncoder, into bytes: inout [UInt8]) throws {
        // Each body is encoded before anything is appended: a throw leaves `bytes` as it was.
        var body: [UInt8] = []
        switch outcome {
        case .result(let result):
            try encoder.append(result, to: &body)
            bytes.append(contentsOf: #"{"id":"#.utf8)
            bytes.append(contentsOf: id.json.utf8)
            bytes.append(contentsOf: #","jsonrpc":"2.0","result":"#.utf8)
            bytes.append(contentsOf: body)
            bytes.append(UInt8(ascii: "}"))
        case .error(let error):
            try encoder.append(error, to: &body)
            bytes.append(contentsOf: #"{"error":"#.utf8)
            bytes.append(contentsOf: body)
            bytes.append(contentsOf: #","id":"#.utf8)
            bytes.append(contentsOf: id.json.utf8)
            bytes.append(contentsOf: #","jsonrpc":"2.0"}"#.utf8)
        }
    }
}
