package import CRMModel

/// Where the engine reports events; the stdio server writes them as notifications.
///
/// `publish` returns once the event is handed on, so an event is out before the response of the
/// request that caused it.
package protocol EngineEventSink: Sendable {
    func publish(_ event: EngineEvent) async
}
