package import Foundation
import Synchronization

/// Token buckets, one per provider: a send waits for a token instead of failing, so a burst is
/// spread out to what the provider allows (the seed's defaults: Twilio 60 a minute, WhatsApp 80 a
/// minute). A provider's Retry-After pauses every send to it for that long.
///
/// The buckets are per process: sidecars sharing a provider account should divide the limits.
package final class RateLimiter: Sendable {
    package struct Limit: Sendable, Equatable {
        /// Sends allowed per `period`, and at most that many in a burst.
        package var count: Int
        package var period: TimeInterval

        package init(count: Int, per period: TimeInterval) {
            self.count = count
            self.period = period
        }

        package static func perMinute(_ count: Int) -> Limit { Limit(count: count, per: 60) }
        package static func perSecond(_ count: Int) -> Limit { Limit(count: count, per: 1) }
    }

    /// The seed's limits by provider name.
    package static let seedLimits: [String: Limit] = ["twilio": .perMinute(60), "whatsapp": .perMinute(80)]

    private struct Bucket {
        var tokens: Double
        var refilledAt: Date
        var pausedUntil: Date?
    }

    private let limits: [String: Limit]
    private let buckets = Mutex<[String: Bucket]>([:])
    private let now: @Sendable () -> Date

    package init(limits: [String: Limit] = RateLimiter.seedLimits, now: @escaping @Sendable () -> Date = { Date() }) {
        self.limits = limits
        self.now = now
    }

    /// Waits until `provider` may be sent another message, and takes that turn; whether it had to wait.
    @discardableResult
    package func acquire(_ provider: String) async throws -> Bool {
        guard let limit = limits[provider] else { return false }
        var waited = false
        while true {
            let wait = take(provider, limit: limit)
            if wait <= 0 { return waited }
            waited = true
            try await Task.sleep(for: .milliseconds(Int((wait * 1000).rounded(.up))))
        }
    }

    /// Holds every send to `provider` back for `seconds` (its Retry-After).
    package func pause(_ provider: String, for seconds: TimeInterval) {
        let until = now().addingTimeInterval(seconds)
        buckets.withLock { buckets in
            var bucket = buckets[provider] ?? Bucket(tokens: Double(limits[provider]?.count ?? 0), refilledAt: now())
            bucket.pausedUntil = max(bucket.pausedUntil ?? until, until)
            buckets[provider] = bucket
        }
    }

    /// Takes a token if there is one (0); otherwise how many seconds until there will be.
    private func take(_ provider: String, limit: Limit) -> TimeInterval {
        let now = now()
        return buckets.withLock { buckets in
            var bucket = buckets[provider] ?? Bucket(tokens: Double(limit.count), refilledAt: now)
            defer { buckets[provider] = bucket }
            if let paused = bucket.pausedUntil, paused > now { return paused.timeIntervalSince(now) }
            let rate = Double(limit.count) / limit.period
            bucket.tokens = min(Double(limit.count), bucket.tokens + now.timeIntervalSince(bucket.refilledAt) * rate)
            bucket.refilledAt = now
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / rate }
            bucket.tokens -= 1
            return 0
        }
    }
}
