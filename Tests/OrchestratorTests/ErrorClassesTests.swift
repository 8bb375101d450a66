@testable import Channels
import CRMModel
import Foundation
import Orchestrator
import Testing

/// The policy's error table is the one place a provider's failure becomes a category: every seed
/// entry, every default, and the providers' own reports read through it.
@Suite("Error classes")
struct ErrorClassesTests {
    /// Every seed entry, written out again so a change to the seed is a change here too.
    static let seedEntries: [(String, String, FailureCategory)] = [
        ("smtp", "login_denied", .auth), ("smtp", "tls", .auth), ("smtp", "tls_handshake", .transient), ("smtp", "starttls_unavailable", .auth),
        ("smtp", "421", .transient), ("smtp", "450", .transient), ("smtp", "451", .transient), ("smtp", "452", .transient),
        ("smtp", "454", .auth), ("smtp", "530", .auth), ("smtp", "534", .auth), ("smtp", "535", .auth),
        ("smtp", "550", .invalidRecipient), ("smtp", "551", .invalidRecipient), ("smtp", "553", .invalidRecipient),
        ("smtp", "552", .permanent), ("smtp", "554", .permanent),
        ("twilio", "20003", .auth), ("twilio", "20429", .rateLimited), ("twilio", "30001", .transient),
        ("twilio", "21211", .invalidRecipient), ("twilio", "21612", .invalidRecipient), ("twilio", "21614", .invalidRecipient),
        ("twilio", "30003", .invalidRecipient), ("twilio", "30005", .invalidRecipient), ("twilio", "30006", .invalidRecipient),
        ("twilio", "21610", .permanent), ("twilio", "21408", .permanent), ("twilio", "30007", .permanent),
        ("whatsapp", "190", .auth),
        ("whatsapp", "4", .rateLimited), ("whatsapp", "80007", .rateLimited), ("whatsapp", "130429", .rateLimited),
        ("whatsapp", "131056", .rateLimited),
        ("whatsapp", "131000", .transient), ("whatsapp", "131016", .transient),
        ("whatsapp", "131026", .invalidRecipient), ("whatsapp", "131047", .permanent), ("whatsapp", "131051", .permanent),
    ]

    @Test("the seed lists exactly these codes")
    func seedIsComplete() {
        let listed = ErrorClasses.seed.flatMap { provider, codes in codes.map { "\(provider)/\($0.key)=\($0.value.rawValue)" } }
        #expect(Set(listed) == Set(Self.seedEntries.map { "\($0.0)/\($0.1)=\($0.2.rawValue)" }))
    }

    @Test("a listed code decides, whatever the status says", arguments: seedEntries)
    func seedEntry(_ provider: String, _ code: String, _ category: FailureCategory) {
        // The entry wins over every default: a 4xx, no answer at all, an SMTP 5xx.
        for answer in [ProviderError.Answer.http(status: 400), .noAnswer, .smtp(reply: 500)] {
            let error = ProviderError("m", answer: answer, providerCode: code)
            #expect(ErrorClasses.category(of: error, from: provider, in: ErrorClasses.seed) == category)
        }
    }

    @Test("a code the table does not list, or no code, gets the default for how far the message got", arguments: [
        (ProviderError.Answer.noAnswer, FailureCategory.transient), (.notSent, .permanent),
        (.http(status: 429), .rateLimited), (.http(status: 401), .auth), (.http(status: 403), .auth),
        (.http(status: 408), .transient), (.http(status: 500), .transient), (.http(status: 503), .transient),
        (.http(status: 599), .transient), (.http(status: 400), .permanent), (.http(status: 404), .permanent),
        (.http(status: 422), .permanent), (.http(status: 201), .transient), (.http(status: 302), .transient),
        (.smtp(reply: 421), .transient), (.smtp(reply: 499), .transient), (.smtp(reply: 500), .permanent),
        (.smtp(reply: 557), .permanent),
    ])
    func defaults(_ answer: ProviderError.Answer, _ category: FailureCategory) {
        #expect(ErrorClasses.defaultCategory(for: answer) == category)
        for provider in ["smtp", "twilio", "whatsapp", "outbox", "acme"] {
            for code in [nil, "99999"] as [String?] {
                let error = ProviderError("m", answer: answer, providerCode: code)
                #expect(ErrorClasses.category(of: error, from: provider, in: ErrorClasses.seed) == category)
            }
        }
    }

    @Test("a table is read by the provider's name: another provider's code means nothing")
    func keyedByProvider() {
        let error = ProviderError("m", answer: .http(status: 400), providerCode: "21211")
        #expect(ErrorClasses.category(of: error, from: "twilio", in: ErrorClasses.seed) == .invalidRecipient)
        #expect(ErrorClasses.category(of: error, from: "whatsapp", in: ErrorClasses.seed) == .permanent)
        var table = ErrorClasses.seed
        table["twilio"]?["21211"] = .transient
        #expect(ErrorClasses.category(of: error, from: "twilio", in: table) == .transient)
    }

    func response(_ status: Int, _ body: String) -> ProviderHTTP.Response {
        ProviderHTTP.Response(status: status, body: Data(body.utf8))
    }

    @Test("Twilio's answers through the seed", arguments: [
        (400, #"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}"#, FailureCategory.invalidRecipient),
        (400, #"{"code": 21408, "message": "Permission to send an SMS has not been enabled for the region", "status": 400}"#, .permanent),
        (400, #"{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}"#, .permanent),
        (401, #"{"code": 20003, "message": "Authenticate", "status": 401}"#, .auth),
        (429, #"{"code": 20429, "message": "Too Many Requests", "status": 429}"#, .rateLimited),
        (400, #"{"code": 21999, "message": "something new", "status": 400}"#, .permanent),
        (503, "<html>Service Unavailable</html>", .transient),
    ])
    func twilio(_ status: Int, _ body: String, _ category: FailureCategory) {
        let error = TwilioProvider.failure(response(status, body))
        #expect(ErrorClasses.category(of: error, from: "twilio", in: ErrorClasses.seed) == category)
    }

    @Test("Meta's answers through the seed", arguments: [
        (400, 131047, FailureCategory.permanent), (400, 131026, .invalidRecipient), (401, 190, .auth),
        (400, 4, .rateLimited), (400, 130429, .rateLimited), (400, 131056, .rateLimited), (500, 131000, .transient),
        (400, 100, .permanent), (403, 10, .auth), (503, 1, .transient),
    ])
    func whatsapp(_ status: Int, _ code: Int, _ category: FailureCategory) {
        let body = #"{"error": {"message": "m", "type": "OAuthException", "code": \#(code)}}"#
        let error = WhatsAppProvider.failure(response(status, body))
        #expect(ErrorClasses.category(of: error, from: "whatsapp", in: ErrorClasses.seed) == category)
    }

    @Test("libcurl's outcomes through the seed keep their meaning: login, certificates and STARTTLS are auth, a broken handshake transient", arguments: [
        (67, 535, FailureCategory.auth), (67, 501, .auth), (67, 0, .auth), (60, 0, .auth), (35, 220, .transient),
        (64, 0, .auth), (64, 454, .auth), (55, 550, .invalidRecipient), (55, 552, .permanent), (55, 554, .permanent),
        (55, 571, .permanent), (55, 451, .transient), (55, 471, .transient), (55, 530, .auth),
        (7, 0, .transient), (28, 0, .transient), (56, 354, .transient),
    ] as [(UInt32, Int, FailureCategory)])
    func smtp(_ curl: UInt32, _ reply: Int, _ category: FailureCategory) throws {
        let error = try #require(SMTPProvider.failure(CurlSession.Outcome(curlCode: curl, replyCode: reply, message: "m")))
        #expect(ErrorClasses.category(of: error, from: "smtp", in: ErrorClasses.seed) == category)
    }

    @Test("what the sidecar refuses to send, or cannot write, reads as permanent or transient")
    func refusedHere() {
        let injection = ProviderError("header", answer: .notSent, providerCode: "header_injection")
        #expect(ErrorClasses.category(of: injection, from: "smtp", in: ErrorClasses.seed) == .permanent)
        #expect(ErrorClasses.category(of: injection, from: "outbox", in: ErrorClasses.seed) == .permanent)
        let unwritable = ProviderError("cannot write", answer: .noAnswer)
        #expect(ErrorClasses.category(of: unwritable, from: "outbox", in: ErrorClasses.seed) == .transient)
    }
}
