import Orchestrator

extension RPCError {
    /// The JSON-RPC error for an engine failure.
    init(_ error: EngineError) {
        switch error {
        case .invalid(let field): self = .invalidParams(field)
        case .storageUnavailable(let reason): self = .storageUnavailable(reason)
        case .notFound(let reason): self = .notFound(reason)
        case .idempotencyConflict(let reason): self = .idempotencyConflict(reason)
        case .noDeliverableChannel(let error): self = .noDeliverableChannel(error.reasons)
        case .shuttingDown: self = .shuttingDown
        }
    }
}
