import Synchronization

/// A doorbell for one waiter: `signal()` wakes the current `wait`, or the next one if nobody waits.
final class Wakeup: Sendable {
    private struct State {
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.signalled = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next signal, or after `limit`.
    func wait(upTo limit: Duration) async {
        let timer = Task {
            do {
                try await Task.sleep(for: limit)
                self.signal()
            } catch {
                // Cancelled: the wait already ended.
            }
        }
        defer { timer.cancel() }
        await withCheckedContinuation { continuation in
            let ringing = state.withLock { state -> Bool in
                if state.signalled {
                    state.signalled = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if ringing { continuation.resume() }
        }
    }
}
