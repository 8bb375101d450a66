package import Channels
package import CRMModel
package import Foundation
package import Logging
package import Persistence

/// Takes a stored communication through its channels until a provider accepts it.
///
/// The caller holds the communication's lease (it inserted or claimed it). Each channel is tried in
/// the decision's order; every attempt, accepted or not, is recorded in the same transaction as the
/// status change it causes, and each change is published. When every channel fails, the
/// communication is `failed` with the reason of each.
package struct Delivery: Sendable {
    package var store: any Store
    package var providers: ProviderRegistry
    package var renderer: TemplateRenderer
    package var events: any EngineEventSink
    package var leasing: WorkLeasing
    package var now: @Sendable () -> Date
    package var logger: Logger

    package init(
        store: any Store, providers: ProviderRegistry, renderer: TemplateRenderer, events: any EngineEventSink,
        leasing: WorkLeasing, now: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.store = store
        self.providers = providers
        self.renderer = renderer
        self.events = events
        self.leasing = leasing
        self.now = now
        self.logger = logger
    }

    /// Sends `communication` under `lease`; returns it as it stands once it is sent, has failed on
    /// every channel, or the lease was lost to another sidecar.
    package func deliver(_ communication: Communication, lease: Lease) async throws(StoreError) -> Communication {
        var communication = communication
        var lease = lease
        var logger = logger
        logger[metadataKey: "communication.id"] = "\(communication.id.uuidString.lowercased())"
        var failures: [String] = []

        for channel in communication.decision.channels {
            guard let address = communication.recipient.address(for: channel) else { continue }
            guard let provider = providers.provider(for: channel) else {
                failures.append("\(channel.rawValue): no provider is configured")
                continue
            }
            // The claim (or insert) made the lease fresh for the first attempt; a later one extends it,
            // and stops if another sidecar took the work over meanwhile.
            if !communication.attempts.isEmpty {
                lease = leasing.lease(from: now())
                guard try await store.renew(communication.id, lease: lease) else {
                    logger.warning("lost the lease on this communication; another sidecar carries on with it")
                    return communication
                }
            }
            let number = (communication.attempts.last?.number ?? 0) + 1
            let message = OutboundMessage(
                communicationID: communication.id,
                attempt: number,
                messageType: communication.messageType,
                channel: channel,
                to: address,
                content: renderer.render(communication.messageType, for: channel, context: communication.context)
            )
            let started = now()
            let attempt: Attempt
            do {
                let receipt = try await provider.send(message)
                attempt = Attempt(
                    number: number, channel: channel, provider: provider.name, startedAt: started,
                    latencyMilliseconds: Self.milliseconds(since: started, now: now()), outcome: .sent,
                    providerMessageID: receipt.providerMessageID
                )
            } catch {
                attempt = Attempt(
                    number: number, channel: channel, provider: provider.name, startedAt: started,
                    latencyMilliseconds: Self.milliseconds(since: started, now: now()), outcome: .failed,
                    errorCategory: error.category.rawValue, error: error.description
                )
                failures.append("\(channel.rawValue): \(error.description)")
                logger.warning(
                    "provider refused a message; trying the next channel",
                    metadata: ["channel": "\(channel.rawValue)", "provider": "\(provider.name)", "error": "\(error.description)"]
                )
            }
            let change = try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
                try await store.record(attempt, for: communication.id, movingTo: attempt.outcome == .sent ? .sent : nil)
            }
            communication.attempts.append(attempt)
            if let change {
                communication.apply(change)
                await events.publish(.status(change))
            }
            if attempt.outcome == .sent {
                logger.info("message sent", metadata: ["channel": "\(channel.rawValue)", "provider": "\(provider.name)"])
                return communication
            }
        }

        let detail = failures.isEmpty ? "no channel could be tried" : "every channel failed: " + failures.joined(separator: "; ")
        let failedAt = now()
        let change = try await recordDurably(lease: lease, logger: logger) { () throws(StoreError) in
            try await store.move(communication.id, to: .failed, channel: nil, detail: detail, at: failedAt)
        }
        if let change {
            communication.apply(change, detail: detail)
            await events.publish(.status(change))
        }
        logger.error("communication failed on every channel", metadata: ["attempts": "\(communication.attempts.count)"])
        return communication
    }

    /// Writes what already happened at a provider, retrying while the database is unavailable.
    ///
    /// Giving up would leave a sent message looking unsent, and whoever claims it next would send it
    /// again; so the write is retried for as long as the lease keeps other sidecars away, and only
    /// then does the error reach the caller.
    private func recordDurably<T>(
        lease: Lease, logger: Logger, _ write: () async throws(StoreError) -> T
    ) async throws(StoreError) -> T {
        var pause = Duration.milliseconds(100)
        while true {
            do {
                return try await write()
            } catch where error.code == .unavailable && now() < lease.expiresAt && !Task.isCancelled {
                logger.warning("cannot record an attempt yet; retrying", metadata: ["error": "\(error.message)"])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(2))
            }
        }
    }

    private static func milliseconds(since start: Date, now: Date) -> Int {
        max(0, Int((now.timeIntervalSince(start) * 1000).rounded()))
    }
}
