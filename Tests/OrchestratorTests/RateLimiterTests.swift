import Foundation
import Orchestrator
import Testing

@Suite("Rate limits delay sends instead of failing them")
struct RateLimiterTests {
    @Test("a burst takes the bucket, then sends are spaced at the rate")
    func spacing() async throws {
        let limiter = RateLimiter(limits: ["twilio": .perSecond(20)])
        let start = ContinuousClock.now
        for _ in 0..<20 { try await limiter.acquire("twilio") }
        let burst = ContinuousClock.now - start
        for _ in 0..<4 { try await limiter.acquire("twilio") }
        let spaced = ContinuousClock.now - start
        // Four more at 20 a second cannot take less than 0.2 s (an upper bound would be a timing test).
        #expect(spaced - burst >= .milliseconds(190))
        // A provider without a limit never waits, and another provider's limit is not shared.
        try await limiter.acquire("outbox")
    }

    @Test("a Retry-After holds every send to that provider back")
    func pause() async throws {
        let limiter = RateLimiter(limits: ["whatsapp": .perMinute(80)])
        limiter.pause("whatsapp", for: 0.3)
        let start = ContinuousClock.now
        try await limiter.acquire("whatsapp")
        #expect(ContinuousClock.now - start >= .milliseconds(290))
    }
}
