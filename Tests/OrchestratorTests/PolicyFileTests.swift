import Channels
import CRMModel
import Foundation
import Orchestrator
import Testing

@Suite("The policy file")
struct PolicyFileTests {
    func load(_ json: String) throws(FieldError) -> Policy {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID().uuidString).json")
        try! Data(json.utf8).write(to: url)
        return try PolicyFile.load(url)
    }

    @Test("sections replace parts of the seed's policy; the rest stays")
    func sections() throws {
        let policy = try load("""
            {"error_classes": {"smtp": {"452": "rate_limited"}, "acme": {"E1": "auth"}},
             "retry": {"delays_seconds": [5, 10]}, "rate_limits": {"smtp": {"per_second": 10}},
             "fallback_on_silence": [{"urgencies": ["critical", "high"], "timeout_seconds": 600}]}
            """)
        #expect(policy.errorClasses["smtp"]?["452"] == .rateLimited && policy.errorClasses["smtp"]?["535"] == .auth)
        #expect(policy.errorClasses["acme"]?["E1"] == .auth)
        #expect(policy.retry.delays == [5, 10] && policy.retry.attemptsPerChannel == 3)
        #expect(policy.rateLimits["smtp"] == .perSecond(10) && policy.rateLimits["twilio"] == .perMinute(60))
        #expect(policy.silenceFallback == [SilenceFallback(urgencies: [.critical, .high], timeout: 600)])
        #expect(policy.channelOrder == Policy.seed.channelOrder)
    }

    @Test("a bad setting is named", arguments: [
        (#"{"error_classes": {"smtp": {"452": "later"}}}"#, "error_classes.smtp.452"),
        (#"{"rate_limits": {"smtp": {"per_hour": 5}}}"#, "rate_limits.smtp.per_hour"),
        (#"{"retry": {"jitter": 2}}"#, "retry.jitter"),
        (#"{"fallback_on_silence": [{"urgencies": ["soon"], "timeout_seconds": 5}]}"#, "fallback_on_silence[0].urgencies[0]"),
        (#"{"low_urgency_time": "9am"}"#, "low_urgency_time"),
    ])
    func badSettings(_ json: String, _ field: String) {
        #expect {
            try load(json)
        } throws: { error in
            (error as? FieldError)?.field == field
        }
    }
}
