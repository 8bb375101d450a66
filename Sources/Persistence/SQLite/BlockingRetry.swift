import Foundation

/// A bounded wait-and-retry for the moments an SQLite store meets another process half-way through
/// opening or migrating the same file.
///
/// It blocks the calling thread between attempts. That is deliberate and kept short:
/// `SQLiteStore.init` and GRDB's migrator are synchronous, they run once at start-up before the
/// sidecar serves anything, and the contention they wait out lasts milliseconds. The bound is
/// `attempts`; after the last one its error is rethrown for the caller to name.
struct BlockingRetry: Sendable {
    /// How many times the body runs at most, the first included.
    let attempts: Int
    /// The pause between two attempts.
    let pause: Duration

    /// The most time spent pausing, not counting the attempts themselves.
    var patience: Duration { pause * (attempts - 1) }

    /// `body`'s value, trying again after `pause` while `retryable` says its error may pass.
    func run<T>(retryingWhen retryable: (any Error) -> Bool, _ body: () throws -> T) throws -> T {
        var attempt = 1
        while true {
            do {
                return try body()
            } catch where attempt < attempts && retryable(error) {
                attempt += 1
                let (seconds, attoseconds) = pause.components
                Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
            }
        }
    }
}
