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

    @Test("error_classes entries win over the seed and over the default for the status")
    func errorClassesOverride() throws {
        let policy = try load(#"{"error_classes": {"twilio": {"21408": "invalid_recipient"}, "whatsapp": {"131999": "rate_limited"}}}"#)
        let region = ProviderError("Twilio answered 400", answer: .http(status: 400), providerCode: "21408")
        #expect(ErrorClasses.category(of: region, from: "twilio", in: Policy.seed.errorClasses) == .permanent)
        #expect(ErrorClasses.category(of: region, from: "twilio", in: policy.errorClasses) == .invalidRecipient)
        let unlisted = ProviderError("the WhatsApp Cloud API answered 400", answer: .http(status: 400), providerCode: "131999")
        #expect(ErrorClasses.category(of: unlisted, from: "whatsapp", in: Policy.seed.errorClasses) == .permanent)
        #expect(ErrorClasses.category(of: unlisted, from: "whatsapp", in: policy.errorClasses) == .rateLimited)
        #expect(policy.errorClasses["twilio"]?["21211"] == .invalidRecipient, "the rest of the seed stays")
    }

    @Test("an unknown error class is refused with the classes there are")
    func unknownErrorClass() {
        #expect {
            try load(#"{"error_classes": {"smtp": {"452": "later"}}}"#)
        } throws: { error in
            (error as? FieldError)?.reason == "is not an error class; accepted: transient, rate_limited, permanent, invalid_recipient, auth"
        }
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
