package import CRMModel
package import Foundation
package import Logging
package import Persistence
package import ServiceLifecycle
import Synchronization

/// Sends what is due: communications handed over by `communicate(wait: false)`, and everything the
/// store's work queue has due (scheduled sends, work whose sidecar died and whose lease ran out).
///
/// At most `concurrency` claimed deliveries run at once. The queue is polled every `pollInterval`
/// and right after a delivery finishes; handed-over work starts at once. On graceful shutdown it stops
/// claiming and finishes what it holds, so acknowledged work is not left to wait for a lease to run out.
package final class SendLoop: Service {
    private let store: any Store
    private let delivery: Delivery
    private let leasing: WorkLeasing
    private let concurrency: Int
    private let pollInterval: Duration
    private let ready: @Sendable () async throws -> Void
    private let now: @Sendable () -> Date
    private let logger: Logger

    private let wakeup = Wakeup()
    private let handedOver = Mutex<[(Communication, Lease)]>([])
    private let running = Atomic<Int>(0)

    /// - Parameter ready: returns once the store can be used (its migrations have run).
    package init(
        store: any Store, delivery: Delivery, leasing: WorkLeasing, concurrency: Int, pollInterval: Duration,
        ready: @escaping @Sendable () async throws -> Void, now: @escaping @Sendable () -> Date = { Date() }, logger: Logger
    ) {
        self.store = store
        self.delivery = delivery
        self.leasing = leasing
        self.concurrency = concurrency
        self.pollInterval = pollInterval
        self.ready = ready
        self.now = now
        self.logger = logger
    }

    /// Sends `communication`, whose lease the caller holds, in the background.
    package func handOver(_ communication: Communication, lease: Lease) {
        handedOver.withLock { $0.append((communication, lease)) }
        wakeup.signal()
    }

    package func run() async throws {
        try await ready()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                var storeDown = false
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    for (communication, lease) in takeHandedOver() {
                        start(communication, lease: lease, in: &group)
                    }
                    let free = concurrency - running.load(ordering: .relaxed)
                    if free > 0 {
                        let lease = leasing.lease(from: now())
                        do {
                            let claimed = try await store.claimDue(by: now(), for: lease, limit: free)
                            if storeDown {
                                storeDown = false
                                logger.notice("the work queue is reachable again")
                            }
                            for (communication, companions) in groupedForDigests(claimed) {
                                start(communication, lease: lease, companions: companions, in: &group)
                            }
                            // A full claim means more may be due: go again once a slot frees up.
                            if claimed.count == free { continue }
                        } catch {
                            if !storeDown {
                                storeDown = true
                                logger.error("cannot claim due work; will keep trying", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                    await wakeup.wait(upTo: pollInterval)
                }
                // Acknowledged and leased to this process: send it before exiting.
                for (communication, lease) in takeHandedOver() {
                    start(communication, lease: lease, in: &group)
                }
            }
        } onGracefulShutdown: {
            self.wakeup.signal()
        }
    }

    private func takeHandedOver() -> [(Communication, Lease)] {
        handedOver.withLock { work in
            defer { work.removeAll() }
            return work
        }
    }

    /// Low-urgency messages for one client claimed together go to one delivery, which sends them as
    /// a digest; sending them side by side would defeat it.
    private func groupedForDigests(_ claimed: [Communication]) -> [(Communication, [Communication])] {
        guard delivery.sendsDigests else { return claimed.map { ($0, []) } }
        var groups: [(Communication, [Communication])] = []
        var leads: [UUID: Int] = [:]
        for communication in claimed {
            if communication.urgency == .low, communication.status.awaitsSending, let index = leads[communication.clientID] {
                groups[index].1.append(communication)
            } else {
                if communication.urgency == .low, communication.status.awaitsSending { leads[communication.clientID] = groups.count }
                groups.append((communication, []))
            }
        }
        return groups
    }

    private func start(
        _ communication: Communication, lease: Lease, companions: [Communication] = [], in group: inout DiscardingTaskGroup
    ) {
        running.add(1, ordering: .relaxed)
        group.addTask {
            defer {
                self.running.subtract(1, ordering: .relaxed)
                self.wakeup.signal()
            }
            do {
                _ = try await self.delivery.deliver(communication, lease: lease, companions: companions)
            } catch {
                // The lease runs out and the work is claimed again, by this process or another.
                self.logger.error(
                    "delivery stopped on a storage error; the work will be claimed again",
                    metadata: ["communication.id": "\(communication.id.uuidString.lowercased())", "error": "\(error)"]
                )
            }
        }
    }
}
