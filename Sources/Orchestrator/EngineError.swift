package import CRMModel

/// Why the engine could not do what was asked, in the categories the RPC layer maps to error codes.
package enum EngineError: Error, Sendable {
    /// The input breaks a rule.
    case invalid(FieldError)
    /// Storage is down or refused; nothing was acknowledged.
    case storageUnavailable(String)
    case notFound(String)
    /// The idempotency key was used before for a different request; nothing was stored.
    case idempotencyConflict(String)
    case noDeliverableChannel(NoDeliverableChannel)
    case shuttingDown
}
