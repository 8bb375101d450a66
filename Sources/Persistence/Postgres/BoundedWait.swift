import Synchronization

/// Waits for an operation for at most a given time, and not a moment longer.
///
/// A task group cannot promise that: after cancelling its children it still waits for them to end.
/// postgres-nio (1.33.2) does not always honour cancellation while the server is going away: under a
/// burst of requests during an outage, some connection requests or queries neither finish nor fail
/// until long after, sometimes never. Inside a task group they left `communicate` unanswered and a
/// graceful shutdown waiting forever. Here the operation runs in a task of its own, which is cancelled
/// at the deadline and left to wind down by itself; the caller is answered either way.
///
/// An operation may therefore still be under way after its caller was told it failed, so it must do
/// nothing once cancelled: `PostgresStore` and `PostgresGroupCommit` check for cancellation after
/// they get a connection and before they commit.
enum BoundedWait {
    /// `operation`'s value, or nil when `limit` passed first. Cancelling the caller cancels the
    /// operation and answers at once with `CancellationError`.
    static func run<T: Sendable>(
        atMost limit: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.await(continuation)
                race.adopt(Task {
                    do {
                        race.finish(.success(try await operation()))
                    } catch {
                        race.finish(.failure(error))
                    }
                })
                race.adopt(Task {
                    // A cancelled sleep means the race is already over.
                    guard (try? await Task.sleep(for: limit)) != nil else { return }
                    race.finish(.success(nil))
                })
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// The first outcome wins; the rest are ignored, and the losing tasks are cancelled.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T?, any Error>?
            var outcome: Result<T?, any Error>?
            var tasks: [Task<Void, Never>] = []
        }

        private let state = Mutex(State())

        func await(_ continuation: CheckedContinuation<T?, any Error>) {
            // The caller may have been cancelled before the continuation existed.
            let decided = state.withLock { state in
                if state.outcome == nil { state.continuation = continuation }
                return state.outcome
            }
            if let decided { continuation.resume(with: decided) }
        }

        func adopt(_ task: Task<Void, Never>) {
            let over = state.withLock { state in
                if state.outcome == nil { state.tasks.append(task) }
                return state.outcome != nil
            }
            if over { task.cancel() }
        }

        func finish(_ outcome: Result<T?, any Error>) {
            let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<T?, any Error>?, [Task<Void, Never>]) in
                guard state.outcome == nil else { return (nil, []) }
                state.outcome = outcome
                defer { (state.continuation, state.tasks) = (nil, []) }
                return (state.continuation, state.tasks)
            }
            for task in tasks { task.cancel() }
            continuation?.resume(with: outcome)
        }
    }
}
