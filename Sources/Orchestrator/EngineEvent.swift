package import CRMModel

/// Something the workflow should hear about as it happens. Codable, because a sidecar that hears of
/// it from a provider may hand it to the sidecar whose workflow it concerns (through the store).
package enum EngineEvent: Sendable, Equatable, Codable {
    case status(StatusChange)
    case optedOut(ConsentChange)
    case inbound(InboundReply)
}
