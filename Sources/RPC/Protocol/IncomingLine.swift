/// What one line of input turned out to be.
package enum IncomingLine: Sendable {
    /// Nothing but white space: ignored, so a developer typing into the sidecar may press Enter.
    case blank
    case single(IncomingMessage)
    /// A non-empty batch; its responses go back together as one array.
    case batch([IncomingMessage])
    /// Not JSON-RPC at all; answered with this error and a null id.
    case unreadable(RPCError)
}

/// One member of a line: a request to run, or one to refuse with an error.
package enum IncomingMessage: Sendable {
    case request(RPCRequest)
    /// Answered with `error`; `id` is the request's id when it could be read, null otherwise.
    case invalid(RPCError, id: RPCID)
}
