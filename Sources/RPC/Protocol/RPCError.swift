package import CRMModel

/// A JSON-RPC error object: the specification's codes and the sidecar's application codes
/// (documented in schemas/openrpc.json).
///
/// Messages and data never carry message bodies, contact details or credentials.
package struct RPCError: Error, Sendable, Equatable, Encodable {
    package var code: Int
    package var message: String
    package var data: JSONValue?

    package init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    private static func reason(_ reason: String) -> JSONValue {
        .object(["reason": .string(reason)])
    }

    // MARK: The specification's errors

    package static func parseError(_ reason: String) -> RPCError {
        RPCError(code: -32700, message: "Parse error: \(reason)", data: Self.reason(reason))
    }

    package static func invalidRequest(_ reason: String) -> RPCError {
        RPCError(code: -32600, message: "Invalid Request: \(reason)", data: Self.reason(reason))
    }

    package static func methodNotFound(_ method: String, known: [String]) -> RPCError {
        RPCError(
            code: -32601,
            message: "Method not found: \(method)",
            data: .object([
                "reason": .string("no method has this name; rpc.discover lists them"),
                "methods": .array(known.map(JSONValue.string)),
            ])
        )
    }

    package static func invalidParams(_ error: FieldError) -> RPCError {
        RPCError(
            code: -32602,
            message: "Invalid params: \(error.field) \(error.reason)",
            data: .object(["field": .string(error.field), "reason": .string(error.reason)])
        )
    }

    package static let internalError = RPCError(
        code: -32603, message: "Internal error: the sidecar logged the details on stderr"
    )

    // MARK: Application errors

    package static func storageUnavailable(_ reason: String) -> RPCError {
        RPCError(code: -32001, message: "Storage unavailable; nothing was stored, retry later", data: Self.reason(reason))
    }

    package static func idempotencyConflict(_ reason: String) -> RPCError {
        RPCError(code: -32003, message: "The idempotency key was used before with a different request", data: Self.reason(reason))
    }

    package static func notFound(_ reason: String) -> RPCError {
        RPCError(code: -32002, message: "Not found: \(reason)", data: Self.reason(reason))
    }

    package static func noDeliverableChannel(_ reasons: [String]) -> RPCError {
        RPCError(
            code: -32004,
            message: "No deliverable channel: every channel is opted out or has no address for the client",
            data: .object(["reasons": .array(reasons.map(JSONValue.string))])
        )
    }

    package static func overloaded(limit: Int) -> RPCError {
        RPCError(
            code: -32005,
            message: "Overloaded: \(limit) requests are already in flight; nothing was done, retry later",
            data: .object(["reason": .string("too many requests in flight"), "max_in_flight": .int(Int64(limit))])
        )
    }

    package static let shuttingDown = RPCError(
        code: -32006, message: "Shutting down: the request was not started", data: reason("the sidecar is stopping")
    )
}
