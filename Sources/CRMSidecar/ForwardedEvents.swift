import Orchestrator
import ServiceLifecycle

/// Announces what other sidecars sharing the database forward to this one (events about
/// communications this sidecar accepted that reached another's side port).
struct ForwardedEvents: Service {
    var intake: EventIntake

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await intake.relayForwarded()
        }
    }
}
