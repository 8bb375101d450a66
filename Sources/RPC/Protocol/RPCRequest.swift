package import CRMModel

/// A well-formed JSON-RPC request or notification.
package struct RPCRequest: Sendable, Equatable {
    /// nil for a notification, which gets no response.
    package var id: RPCID?
    package var method: String
    /// An object or an array, when present.
    package var params: JSONValue?

    package init(id: RPCID?, method: String, params: JSONValue?) {
        self.id = id
        self.method = method
        self.params = params
    }
}
