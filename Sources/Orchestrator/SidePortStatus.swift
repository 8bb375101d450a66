import Synchronization

/// Where the side port listens, once it does, or why it could not: for `health`, so a workflow that
/// starts the sidecar with WEBHOOK_PORT=0 can learn the port it got.
package final class SidePortStatus: Sendable {
    package enum State: Sendable, Equatable {
        case starting
        /// `host:port` as bound.
        case listening(String)
        case failed(String)
    }

    private let state = Mutex<State>(.starting)

    package init() {}

    package var current: State { state.withLock { $0 } }

    package func update(_ new: State) {
        state.withLock { $0 = new }
    }

    /// The state once the side port is listening or has failed to, or `starting` still after `limit`.
    /// Binding takes milliseconds; a short poll keeps this free of another synchronisation primitive.
    package func settled(within limit: Duration) async -> State {
        let deadline = ContinuousClock.now + limit
        while true {
            let now = current
            if now != .starting || ContinuousClock.now >= deadline { return now }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}
