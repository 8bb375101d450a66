/// A JSON-RPC response: a result or an error, for one id.
package struct RPCResponse: Sendable, Encodable {
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

    enum CodingKeys: String, CodingKey {
        case jsonrpc, id, result, error
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("2.0", forKey: .jsonrpc)
        switch outcome {
        case .result(let result): try result.encode(to: container.superEncoder(forKey: .result))
        case .error(let error): try container.encode(error, forKey: .error)
        }
        try container.encode(id, forKey: .id)
    }
}
