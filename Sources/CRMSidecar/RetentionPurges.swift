import Logging
import Orchestrator
import ServiceLifecycle

/// Purges what is older than the retention periods, a little while after start-up and then every
/// hour, in small batches so sends are not held up. Every sidecar on a database runs it; their
/// passes do not conflict (PostgreSQL skips rows another holds).
struct RetentionPurges: Service {
    var compliance: Compliance
    /// Waits until the store is migrated.
    var ready: @Sendable () async throws -> Void
    var logger: Logger
    var firstPass: Duration = .seconds(60)
    var interval: Duration = .seconds(3600)

    func run() async throws {
        try await ready()
        await cancelWhenGracefulShutdown {
            guard (try? await Task.sleep(for: firstPass)) != nil else { return }
            while !Task.isCancelled {
                do {
                    _ = try await compliance.purge(dryRun: false)
                } catch {
                    logger.warning("retention purge failed; trying again at the next pass", metadata: ["error": "\(error)"])
                }
                guard (try? await Task.sleep(for: interval)) != nil else { return }
            }
        }
    }
}
