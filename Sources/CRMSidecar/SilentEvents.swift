import CRMModel
import Orchestrator

/// Where the subcommands that are no JSON-RPC session send events: nowhere. What a purge removes
/// was announced long ago.
struct SilentEvents: EngineEventSink {
    func publish(_ event: EngineEvent) async {}
}
