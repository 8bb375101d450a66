import Synchronization
import Testing

@testable import Persistence

/// The deadline holds even against an operation that ignores cancellation, which a task group's
/// cancel-then-wait cannot promise.
struct BoundedWaitTests {
    @Test func answersAtTheDeadlineWhileTheOperationIgnoresCancellation() async throws {
        let parked = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let finished = Mutex(false)
        let clock = ContinuousClock()
        let start = clock.now
        let value = try await BoundedWait.run(atMost: .milliseconds(100)) { () async throws -> Int in
            // Deaf to cancellation, as a continuation nobody resumes is.
            await withCheckedContinuation { continuation in parked.withLock { $0 = continuation } }
            finished.withLock { $0 = true }
            return 1
        }
        #expect(value == nil)
        #expect(clock.now - start < .seconds(5))
        #expect(!finished.withLock { $0 })
        parked.withLock { $0?.resume() }
    }

    @Test func theOperationsValueOrErrorWinsWhenItIsFirst() async throws {
        #expect(try await BoundedWait.run(atMost: .seconds(30)) { 42 } == 42)
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await BoundedWait.run(atMost: .seconds(30)) { () async throws -> Int in throw Refused() }
        }
    }

    @Test func theAbandonedOperationIsCancelled() async throws {
        let sawCancellation = AsyncStream<Bool>.makeStream()
        _ = try await BoundedWait.run(atMost: .milliseconds(50)) { () async throws -> Int in
            try? await Task.sleep(for: .seconds(30))
            sawCancellation.continuation.yield(Task.isCancelled)
            return 0
        }
        var iterator = sawCancellation.stream.makeAsyncIterator()
        #expect(await iterator.next() == true)
    }

    @Test func cancellingTheCallerAnswersAtOnce() async throws {
        let waiting = Task {
            try await BoundedWait.run(atMost: .seconds(60)) { () async throws -> Int in
                try await Task.sleep(for: .seconds(60))
                return 0
            }
        }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }
}
