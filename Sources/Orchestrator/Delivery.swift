package import Channels
package import CRMModel
package import Foundation
package import Logging
package import Persistence

/// Takes a stored communication through its channels until a provider accepts it.
///
/// Each channel is tried in the decision's order; every attempt, accepted or not, is recorded in the
/// same transaction as the status change it causes, and each change is published. When every channel
/// fails, the communication is `failed` with the reason of each.
package struct Delivery: Sendable {
    package var store: any Store
    package var providers: ProviderRegistry
    package var renderer: TemplateRenderer
    package var events: any EngineEventSink
    package var now: @Sendable () -> Date
    package var logger: Logger

    package init(
        store: any Store, providers: ProviderRegistry, renderer: TemplateRenderer, events: any EngineEventSink,
        now: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.store = store
        self.providers = providers
        self.renderer = renderer
        self.events = events
        self.now = now
        self.logger = logger
    }

    /// Sends `communication`; returns once it is sent or has failed on every channel.
    package func deliver(_ communication: Communication) async throws(StoreError) {
        var logger = logger
        logger[metadataKey: "communication.id"] = "\(communication.id.uuidString.lowercased())"
        var number = communication.attempts.count
        var failures: [String] = []

        for channel in communication.decision.channels {
            guard let address = communication.recipient.address(for: channel) else { continue }
            guard let provider = providers.provider(for: channel) else {
                failures.append("\(channel.rawValue): no provider is configured")
                continue
            }
            number += 1
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
            let change = try await store.record(attempt, for: communication.id, movingTo: attempt.outcome == .sent ? .sent : nil)
            if let change { await events.publish(.status(change)) }
            if attempt.outcome == .sent {
                logger.info("message sent", metadata: ["channel": "\(channel.rawValue)", "provider": "\(provider.name)"])
                return
            }
        }

        let detail = failures.isEmpty ? "no channel could be tried" : "every channel failed: " + failures.joined(separator: "; ")
        if let change = try await store.move(communication.id, to: .failed, channel: nil, detail: detail, at: now()) {
            await events.publish(.status(change))
        }
        logger.error("communication failed on every channel", metadata: ["attempts": "\(number)"])
    }

    private static func milliseconds(since start: Date, now: Date) -> Int {
        max(0, Int((now.timeIntervalSince(start) * 1000).rounded()))
    }
}
