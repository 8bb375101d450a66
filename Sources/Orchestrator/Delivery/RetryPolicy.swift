package import Foundation

/// How often and how patiently a channel is retried before the next one is tried (the seed's numbers
/// by default: three attempts a channel, 60 s then 300 s apart, at most 900 s, doubled when the
/// provider asks to slow down, each delay varied by up to ±10% so retries do not arrive in bursts).
package struct RetryPolicy: Sendable, Equatable {
    /// Attempts on one channel that fail transiently before it is given up; rate-limited ones do not count.
    package var attemptsPerChannel: Int
    /// The wait after the first, second, ... transient failure; the last repeats.
    package var delays: [TimeInterval]
    package var maximumDelay: TimeInterval
    package var rateLimitMultiplier: Double
    /// The fraction by which a delay is varied either way.
    package var jitter: Double

    package init(
        attemptsPerChannel: Int = 3, delays: [TimeInterval] = [60, 300, 900], maximumDelay: TimeInterval = 900,
        rateLimitMultiplier: Double = 2, jitter: Double = 0.1
    ) {
        self.attemptsPerChannel = attemptsPerChannel
        self.delays = delays
        self.maximumDelay = maximumDelay
        self.rateLimitMultiplier = rateLimitMultiplier
        self.jitter = jitter
    }

    /// The wait after the `failures`-th transient failure, before jitter.
    package func delay(afterFailure failures: Int) -> TimeInterval {
        guard let last = delays.last else { return 0 }
        let base = failures - 1 < delays.count ? delays[max(0, failures - 1)] : last
        return min(base, maximumDelay)
    }
}
