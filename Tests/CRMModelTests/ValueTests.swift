import CRMModel
import Foundation
import Testing

@Suite("Wire values")
struct ValueTests {
    @Test("times of day are HH:MM in 24 hours", arguments: ["00:00", "08:30", "22:00", "23:59"])
    func localTimes(_ text: String) throws {
        #expect(try LocalTime(validating: text).description == text)
    }

    @Test("other times of day are refused", arguments: ["24:00", "8:00", "08:60", "0800", "08:00:00", "", "ab:cd"])
    func badLocalTimes(_ text: String) {
        #expect(throws: FieldError.self) { try LocalTime(validating: text) }
    }

    @Test("IANA zones are accepted, including names ICU does not list as canonical", arguments: [
        "Asia/Kolkata", "Asia/Calcutta", "America/New_York", "Asia/Tokyo", "Europe/Kyiv", "UTC", "Etc/UTC",
    ])
    func timeZones(_ name: String) throws {
        #expect(try IANATimeZone(validating: name).identifier == name)
    }

    @Test("abbreviations, offsets and unknown zones are refused", arguments: ["EST", "GMT+5", "Mars/Phobos", "asia/kolkata", "", "PST"])
    func badTimeZones(_ name: String) {
        #expect(throws: FieldError.self) { try IANATimeZone(validating: name) }
    }

    @Test("integers stay integers through JSONValue")
    func jsonIntegers() throws {
        let text = #"{"a":9007199254740993,"b":1.5,"c":[true,null,"x"],"d":{"e":-1}}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(value.objectValue?["a"] == .int(9_007_199_254_740_993))
        #expect(value.objectValue?["b"] == .double(1.5))
        let again = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(value))
        #expect(again == value)
    }

    @Test("UUIDs and times go on the wire in canonical form")
    func wireForms() throws {
        let id = UUID(uuidString: "550E8400-E29B-41D4-A716-446655440000")!
        let event = StatusChange(
            communicationID: id, planID: id, clientID: id, status: .sent, previousStatus: .queued,
            at: Date(timeIntervalSince1970: 1_764_052_331.2109)
        )
        let text = String(decoding: try WireJSON.makeEncoder().encode(event), as: UTF8.self)
        #expect(text.contains("\"communication_id\":\"550e8400-e29b-41d4-a716-446655440000\""))
        #expect(text.contains("\"at\":\"2025-11-25T06:32:11.211Z\""))
        #expect(WireJSON.parseDate("2025-11-25T06:32:11.211Z") != nil)
        #expect(WireJSON.parseDate("2025-11-25T06:32:11Z") != nil)
    }

    @Test("unknown enum values are refused with the accepted ones, not echoed")
    func enumErrors() {
        #expect {
            try JSONDecoder().decode([Channel].self, from: Data(#"["pigeon"]"#.utf8))
        } throws: { error in
            let text = String(describing: error)
            return text.contains("must be one of: email, sms, whatsapp") && !text.contains("pigeon")
        }
    }
}

@Suite("Statuses only move forward")
struct CommunicationStatusTests {
    @Test("the forward path", arguments: [
        (CommunicationStatus.queued, CommunicationStatus.sent, true),
        (.sent, .delivered, true), (.delivered, .opened, true), (.opened, .clicked, true),
        (.scheduled, .queued, true), (.sent, .bounced, true), (.delivered, .failed, true),
        (.delivered, .sent, false), (.opened, .delivered, false), (.sent, .sent, false),
        (.failed, .sent, false), (.cancelled, .queued, false), (.bounced, .delivered, false),
        (.queued, .cancelled, true), (.scheduled, .cancelled, true), (.sent, .cancelled, false),
    ])
    func transitions(_ from: CommunicationStatus, _ to: CommunicationStatus, _ allowed: Bool) {
        #expect(from.canMove(to: to) == allowed)
    }
}

@Suite("Wire times")
struct WireTimeTests {
    /// The format style the hand-written formatting replaced, as it was used.
    static func reference(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (seconds, remainder) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let (wholeSeconds, fraction) = remainder < 0 ? (seconds - 1, remainder + 1000) : (seconds, remainder)
        let base = Date.ISO8601FormatStyle().format(Date(timeIntervalSince1970: Double(wholeSeconds)))
        let digits = String(fraction)
        return base.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    @Test("times format as the ISO 8601 format style did, leap days, centuries and times before 1970 included")
    func formatsAsBefore() {
        var generator = SystemRandomNumberGenerator()
        var dates = (0..<4_000).map { _ in
            Date(timeIntervalSince1970: Double.random(in: -2_208_988_800...7_258_118_400, using: &generator))
        }
        dates += [
            "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "2000-02-29T12:00:00Z", "2100-02-28T23:59:59.9995Z",
            "2100-03-01T00:00:00Z", "2024-12-31T23:59:59.999Z", "1900-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
        ].map { WireJSON.parseDate($0)! }
        let differing = dates.filter { WireJSON.format($0) != Self.reference($0) }
        #expect(differing.isEmpty, "\(differing.prefix(5).map(\.timeIntervalSince1970))")
    }
}

@Suite("JSON values written out")
struct JSONValueSerializationTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    static let texts = ["", "plain", "quote \" and \\ backslash", "line\nbreak\ttab\r", "\u{0}\u{1F}\u{7F}", "é 😀 👩‍👩‍👧", "\u{2028}", "/slash/"]

    static func value(depth: Int, using generator: inout Generator) -> JSONValue {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .int([0, -1, Int64.max, Int64.min, Int64.random(in: -1000...1000, using: &generator)].randomElement(using: &generator)!)
        case 3: return .double([0.5, -2.25, 1e20, 1.5e-300, 5e-324, 1.7976931348623157e308, Double.random(in: -1e6...1e6, using: &generator)].randomElement(using: &generator)!)
        case 4: return .string(texts.randomElement(using: &generator)!)
        case 5: return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in value(depth: depth + 1, using: &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                members[texts.randomElement(using: &generator)! + String(Int.random(in: 0...9, using: &generator))] = value(depth: depth + 1, using: &generator)
            }
            return .object(members)
        }
    }

    @Test("what is written reads back as the same value through Foundation's decoder")
    func roundTrips() throws {
        var generator = Generator(state: 0x2545_F491_4F6C_DD1D)
        for _ in 0..<800 {
            let value = Self.value(depth: 0, using: &generator)
            let read = try JSONDecoder().decode(JSONValue.self, from: Data(value.serialized()))
            // A whole double reads back as an integer, as it would from the wire.
            #expect(read == value || { if case .double = value { true } else { false } }(), "\(value)")
        }
    }
}
