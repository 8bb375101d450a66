import Orchestrator
import ServiceLifecycle

/// Keeps the consent cache honest when another sidecar sharing the database saves a client's
/// preferences (an opt-out it heard on its side port, say): the next send here reads them anew.
struct PreferencesNotices: Service {
    var consent: ConsentCache

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await consent.followNotices()
        }
    }
}
