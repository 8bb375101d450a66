package import CRMModel

/// Something the workflow should hear about as it happens.
package enum EngineEvent: Sendable, Equatable {
    case status(StatusChange)
}
