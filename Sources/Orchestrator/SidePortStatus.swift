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
}
