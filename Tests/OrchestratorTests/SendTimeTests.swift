import CRMModel
import Foundation
import Orchestrator
import Testing

/// When the strategy sends, in the client's time zone, with an injected clock: every expected time is
/// written out in UTC, worked out by hand from the zone's rules.
@Suite("The strategy picks the send time in the client's time zone")
struct SendTimeTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var urgency: Urgency
        var zone: String
        var now: String
        var expected: String
        var quiet: (String, String) = ("22:00", "08:00")
        var requested: String? = nil
        var reason: String? = nil

        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // Tokyo: UTC+9 all year.
        Case(name: "critical in Tokyo's quiet hours goes now", urgency: .critical, zone: "Asia/Tokyo",
             now: "2026-11-25T14:30:00Z", expected: "2026-11-25T14:30:00Z", reason: "critical: sent during quiet hours 22:00-08:00 Asia/Tokyo"),
        Case(name: "high at 23:30 in Tokyo waits for 08:00", urgency: .high, zone: "Asia/Tokyo",
             now: "2026-11-25T14:30:00Z", expected: "2026-11-25T23:00:00Z", reason: "quiet hours 22:00-08:00 Asia/Tokyo: deferred to 2026-11-25T23:00:00.000Z"),
        Case(name: "high at 07:59 in Tokyo waits a minute", urgency: .high, zone: "Asia/Tokyo",
             now: "2026-11-24T22:59:00Z", expected: "2026-11-24T23:00:00Z"),
        Case(name: "high at 10:00 in Tokyo goes now", urgency: .high, zone: "Asia/Tokyo",
             now: "2026-11-25T01:00:00Z", expected: "2026-11-25T01:00:00Z", reason: "send now"),
        Case(name: "normal at 19:00 in Tokyo waits for 09:00", urgency: .normal, zone: "Asia/Tokyo",
             now: "2026-11-25T10:00:00Z", expected: "2026-11-26T00:00:00Z",
             reason: "normal urgency waits for business hours 09:00-18:00 Asia/Tokyo: 2026-11-26T00:00:00.000Z"),
        Case(name: "normal at 10:00 in Tokyo goes now", urgency: .normal, zone: "Asia/Tokyo",
             now: "2026-11-25T01:00:00Z", expected: "2026-11-25T01:00:00Z"),
        Case(name: "normal at 17:59 in Tokyo goes now", urgency: .normal, zone: "Asia/Tokyo",
             now: "2026-11-25T08:59:00Z", expected: "2026-11-25T08:59:00Z"),
        Case(name: "low after 09:00 in Tokyo goes at 09:00 the next day", urgency: .low, zone: "Asia/Tokyo",
             now: "2026-11-25T01:00:00Z", expected: "2026-11-26T00:00:00Z"),
        Case(name: "low at 07:00 in Tokyo goes at 09:00 that day", urgency: .low, zone: "Asia/Tokyo",
             now: "2026-11-24T22:00:00Z", expected: "2026-11-25T00:00:00Z"),
        Case(name: "low at 09:00 in Tokyo goes now", urgency: .low, zone: "Asia/Tokyo",
             now: "2026-11-25T00:00:30Z", expected: "2026-11-25T00:00:30Z"),

        // New York: UTC-5 in winter, UTC-4 in summer.
        Case(name: "high at 23:00 in New York waits for 08:00 (winter)", urgency: .high, zone: "America/New_York",
             now: "2026-01-15T04:00:00Z", expected: "2026-01-15T13:00:00Z"),
        Case(name: "normal at 08:30 in New York (summer) waits for 09:00", urgency: .normal, zone: "America/New_York",
             now: "2026-07-01T12:30:00Z", expected: "2026-07-01T13:00:00Z"),
        Case(name: "quiet night into spring forward is an hour shorter", urgency: .high, zone: "America/New_York",
             now: "2026-03-08T04:00:00Z", expected: "2026-03-08T12:00:00Z"),
        Case(name: "quiet night into fall back is an hour longer", urgency: .high, zone: "America/New_York",
             now: "2026-11-01T03:00:00Z", expected: "2026-11-01T13:00:00Z"),
        Case(name: "quiet hours ending in the skipped hour end when it is over", urgency: .high, zone: "America/New_York",
             now: "2026-03-08T06:30:00Z", expected: "2026-03-08T07:00:00Z", quiet: ("01:00", "02:30")),
        Case(name: "low on the fall-back day is at 09:00 EST", urgency: .low, zone: "America/New_York",
             now: "2026-10-31T14:00:00Z", expected: "2026-11-01T14:00:00Z"),

        // Quiet hours of every shape.
        Case(name: "after midnight is still quiet", urgency: .high, zone: "UTC",
             now: "2026-11-25T00:30:00Z", expected: "2026-11-25T08:00:00Z"),
        Case(name: "just before quiet hours is not quiet", urgency: .high, zone: "UTC",
             now: "2026-11-25T21:59:00Z", expected: "2026-11-25T21:59:00Z"),
        Case(name: "quiet hours within a day", urgency: .high, zone: "Europe/Paris",
             now: "2026-11-25T13:00:00Z", expected: "2026-11-25T14:00:00Z", quiet: ("13:00", "15:00")),
        Case(name: "empty quiet hours are never quiet", urgency: .high, zone: "UTC",
             now: "2026-11-25T03:00:00Z", expected: "2026-11-25T03:00:00Z", quiet: ("00:00", "00:00")),

        // A requested time replaces the urgency's rule, but not quiet hours.
        Case(name: "send_at into quiet hours is deferred", urgency: .normal, zone: "Asia/Kolkata",
             now: "2026-11-25T06:00:00Z", expected: "2026-11-26T02:30:00Z", requested: "2026-11-25T17:00:00Z"),
        Case(name: "send_at into quiet hours stands for critical", urgency: .critical, zone: "Asia/Kolkata",
             now: "2026-11-25T06:00:00Z", expected: "2026-11-25T17:00:00Z", requested: "2026-11-25T17:00:00Z"),
        Case(name: "send_at outside business hours stands for normal", urgency: .normal, zone: "Asia/Kolkata",
             now: "2026-11-25T06:00:00Z", expected: "2026-11-25T14:00:00Z", requested: "2026-11-25T14:00:00Z",
             reason: "request asks to send at 2026-11-25T14:00:00.000Z"),
        Case(name: "send_at in the past means now", urgency: .high, zone: "UTC",
             now: "2026-11-25T12:00:00Z", expected: "2026-11-25T12:00:00Z", requested: "2026-11-25T11:00:00Z",
             reason: "requested send time has passed; sending now"),
    ]

    @Test("send time", arguments: cases)
    func sendTime(_ example: Case) throws {
        let client = UUID()
        let preferences = ClientPreferences(
            clientID: client,
            timezone: try IANATimeZone(validating: example.zone),
            quietHoursStart: try LocalTime(validating: example.quiet.0),
            quietHoursEnd: try LocalTime(validating: example.quiet.1)
        )
        let request = CommunicationRequest(
            planID: UUID(), clientID: client, messageType: .welcome, urgency: example.urgency,
            recipient: Recipient(email: try EmailAddress(validating: "priya@example.com"))
        )
        let decision = try Strategy().decide(
            request, preferences: preferences, now: try #require(WireJSON.parseDate(example.now)),
            requestedSendAt: try example.requested.map { try #require(WireJSON.parseDate($0)) }
        )
        #expect(WireJSON.format(decision.sendAt) == WireJSON.format(try #require(WireJSON.parseDate(example.expected))))
        if let reason = example.reason {
            #expect(decision.reasons.contains(reason), "\(decision.reasons)")
        }
    }
}
