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
    private let work = Mutex(Work())

    /// What the loop holds, under one lock, so "nothing left" is never seen between taking handed-over
    /// work and starting it.
    private struct Work {
        var handedOver: [(Communication, Lease)] = []
        var running = 0
        /// Set by `finishStartedWork`: no more due work is claimed, handed-over work still starts.
        var claiming = true
        /// Waiting for the loop to hold nothing.
        var idleWaiters: [CheckedContinuation<Void, Never>] = []

        var idle: Bool { handedOver.isEmpty && running == 0 }

        mutating func resumeWaitersIfIdle() {
            guard idle else { return }
            for waiter in idleWaiters { waiter.resume() }
            idleWaiters = []
        }
    }

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
        work.withLock { $0.handedOver.append((communication, lease)) }
        wakeup.signal()
    }

    /// Stops claiming due work and returns once every send already started or handed over has
    /// finished (its notifications published), or after `limit`. Scheduled work stays in the store
    /// for whichever sidecar runs next. For the end of input: the workflow hears how the sends it
    /// started ended before the sidecar exits.
    package func finishStartedWork(within limit: Duration) async {
        work.withLock { $0.claiming = false }
        wakeup.signal()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    self.work.withLock { work in
                        work.idleWaiters.append(continuation)
                        work.resumeWaitersIfIdle()
                    }
                }
            }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
            // The waiter that lost the race is let go, so its task can end.
            self.work.withLock { work in
                for waiter in work.idleWaiters { waiter.resume() }
                work.idleWaiters = []
            }
        }
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
                    let (free, claiming) = work.withLock { (concurrency - $0.running, $0.claiming) }
                    if free > 0, claiming {
                        let lease = leasing.lease(from: now())
                        do {
                            let claimed = try await store.claimDue(by: now(), for: lease, limit: free)
                            if storeDown {
                                storeDown = false
                                logger.notice("the work queue is reachable again")
                            }
                            let groups = groupedForDigests(claimed)
                            work.withLock { $0.running += groups.count }
                            for (communication, companions) in groups {
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

    /// Takes the handed-over work, counted as running from here on (`start` runs each).
    private func takeHandedOver() -> [(Communication, Lease)] {
        work.withLock { work in
            defer { work.handedOver.removeAll() }
            work.running += work.handedOver.count
            return work.handedOver
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

    /// Runs one delivery, already counted in `work.running`.
    private func start(
        _ communication: Communication, lease: Lease, companions: [Communication] = [], in group: inout DiscardingTaskGroup
    ) {
        group.addTask {
            defer {
                self.work.withLock { work in
                    work.running -= 1
                    work.resumeWaitersIfIdle()
                }
                self.wakeup.signal()
            }
            do {
                _ = try await self.delivery.deliver(communication, lease: lease, companions: companions)
            } catch {
                // The lease runs out and the work is claimed again, by this process or another.
                self.logger.error(
                    "delivery stopped on a storage error; the work will be claimed again",
                    metadata: ["communication.id": "\(communication.id.canonicalString)", "error": "\(error)"]
                )
            }
        }
    }
}
