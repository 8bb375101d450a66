import Testing

@testable import Persistence

@Suite("The SQLite store's bounded start-up wait")
struct BlockingRetryTests {
    struct Failure: Error, Equatable {
        let attempt: Int
    }

    @Test("an error that may pass is tried again until the body succeeds")
    func retriesUntilSuccess() throws {
        var attempts = 0
        let value = try BlockingRetry(attempts: 5, pause: .zero).run(retryingWhen: { _ in true }) {
            attempts += 1
            if attempts < 3 { throw Failure(attempt: attempts) }
            return "opened"
        }
        #expect(value == "opened" && attempts == 3)
    }

    @Test("after the last attempt its error is thrown")
    func givesUpAtTheBound() {
        var attempts = 0
        #expect(throws: Failure(attempt: 3)) {
            try BlockingRetry(attempts: 3, pause: .zero).run(retryingWhen: { _ in true }) {
                attempts += 1
                throw Failure(attempt: attempts)
            }
        }
        #expect(attempts == 3)
    }

    @Test("an error that will not pass is thrown at once")
    func otherErrorsAreNotRetried() {
        var attempts = 0
        #expect(throws: Failure(attempt: 1)) {
            try BlockingRetry(attempts: 3, pause: .zero).run(retryingWhen: { _ in false }) {
                attempts += 1
                throw Failure(attempt: attempts)
            }
        }
        #expect(attempts == 1)
    }

    @Test("the wait is bounded by the pauses between attempts")
    func patience() {
        #expect(BlockingRetry(attempts: 51, pause: .milliseconds(100)).patience == .seconds(5))
    }
}
