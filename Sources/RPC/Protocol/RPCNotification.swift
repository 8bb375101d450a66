/// A notification from the sidecar to the workflow: a method name and params, no id.
package struct RPCNotification<Params: Encodable & Sendable>: Sendable, Encodable {
    package var method: String
    package var params: Params

    package init(method: String, params: Params) {
        self.method = method
        self.params = params
    }

    enum CodingKeys: String, CodingKey {
        case jsonrpc, method, params
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("2.0", forKey: .jsonrpc)
        try container.encode(method, forKey: .method)
        try container.encode(params, forKey: .params)
    }
}
