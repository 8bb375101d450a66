import Channels
import Logging
import Orchestrator
import Persistence

extension Compliance {
    /// The compliance operations as the configuration sets them up.
    static func make(_ configuration: Configuration, store: any Store, events: any EngineEventSink, logger: Logger) -> Compliance {
        Compliance(
            store: store, events: events, outbox: OutboxCopies(directory: configuration.outboxDirectory),
            retention: Compliance.Retention(days: configuration.retentionDays, auditDays: configuration.auditRetentionDays),
            logger: logger
        )
    }
}
