package import CRMModel
package import Orchestrator

/// Sends the engine's events to the workflow as JSON-RPC notifications, through the one stdout writer.
///
/// Events that happen while no stdio channel is open (before start-up finishes, after shutdown) have
/// no one to go to; they are recorded in the store all the same.
package actor NotificationSink: EngineEventSink {
    private var output: RPCOutput?

    package init() {}

    func attach(_ output: RPCOutput?) {
        self.output = output
    }

    package func publish(_ event: EngineEvent) async {
        guard let output else { return }
        switch event {
        case .status(let change):
            await output.send(RPCNotification(method: "communication.status", params: change))
        case .optedOut(let change):
            await output.send(RPCNotification(method: "client.opted_out", params: change))
        case .inbound(let reply):
            await output.send(RPCNotification(method: "inbound.message", params: reply))
        }
    }
}
