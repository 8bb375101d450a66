import CRMModel
import Foundation
import Testing

/// `WireEncoder` replaced Foundation's encoder on the wire and in stored JSON: it must write the same
/// bytes, so that nothing a client, a schema or a stored row sees changes.
@Suite("WireEncoder writes what Foundation's encoder writes with the wire's settings")
struct WireEncoderTests {
    private let foundation = WireJSON.makeFoundationEncoder()
    private let wire = WireEncoder()

    private func expectSame<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = String(decoding: try foundation.encode(value), as: UTF8.self)
        let written = String(decoding: try wire.encode(value), as: UTF8.self)
        #expect(written == expected, sourceLocation: sourceLocation)
    }

    @Test("scalars: integers at their limits, doubles as Foundation shortens them, floats, booleans, null")
    func scalars() throws {
        try expectSame([Int.min, -1, 0, 7, 10, Int.max])
        try expectSame([Int8.min, Int8.max])
        try expectSame([UInt64.max, 0])
        try expectSame([1.0, 0.1, -0.0, 1.5, 100, 1e16, 1e20, 1e21, 1e-7, 5e-324, 123_456_789_012_345_678.0, 12345.678])
        try expectSame([Float(0.1), 1, 3.4e38])
        try expectSame([true, false])
        try expectSame([Int?.none, 3])
        try expectSame("top-level string")
        try expectSame(42)
    }

    @Test("strings: quotes, backslashes and control characters escaped as Foundation does; slashes, DEL and non-ASCII as they are")
    func strings() throws {
        try expectSame(["a\"b\\c/d\u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}é😀\u{2028}", "", "plain", "\\", "\"\""])
        let everyByte = String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self)
        try expectSame([everyByte])
    }

    @Test("keys sorted as Foundation sorts them, whatever order they were encoded in")
    func keyOrder() throws {
        // "e\u{301}x" is "éx" decomposed: by bytes it sorts before "f", as normalized text after.
        let keys = ["channel_used", "channels", "a10", "a9", "B", "a", "_x", "é", "e", "Z", "zz", "a_b", "aB", "ab", "", "1", "😀", "\u{7f}", "e\u{301}x", "f"]
        try expectSame(Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) }))
        try expectSame([String: [String: Int]]())
        try expectSame(["outer": ["b": 1, "a": 2]])
    }

    @Test("the types Foundation treats specially: dates as the wire writes them, data as base64, URLs, decimals")
    func specialTypes() throws {
        try expectSame(["at": Date(timeIntervalSince1970: 1_764_590_400.123_4)])
        try expectSame([Date(timeIntervalSince1970: -86_400.5)])
        try expectSame(["data": Data([1, 2, 3, 250]), "empty": Data()])
        try expectSame(["url": URL(string: "https://example.com/a?b=1&c=/d")!])
        try expectSame([Decimal(string: "1.25")!, Decimal(0)])
        try expectSame(["id": UUID(uuidString: "550E8400-E29B-41D4-A716-446655440000")!])
    }

    @Test("nested containers, empty values, optionals left out, a superclass's encoder, a key encoded twice")
    func containers() throws {
        try expectSame(Nested())
        try expectSame([Nested(), Nested()])
        try expectSame([Empty()])
        try expectSame(Child())
        try expectSame(Twice())
        try expectSame(NestedTwice())
        #expect(throws: EncodingError.self) { try wire.encode(Empty()) }
        #expect(throws: EncodingError.self) { try wire.encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try wire.encode(["x": Double.infinity]) }
    }

    @Test("times are written as RFC 3339 UTC with milliseconds, years past four digits included")
    func times() {
        let cases: [(TimeInterval, String)] = [
            (0, "1970-01-01T00:00:00.000Z"), (-1.5, "1969-12-31T23:59:58.500Z"), (1_764_590_400.1236, "2025-12-01T12:00:00.124Z"),
            (951_825_600, "2000-02-29T12:00:00.000Z"), (253_402_300_799.999, "9999-12-31T23:59:59.999Z"),
            (253_402_300_800.5, "10000-01-01T00:00:00.500Z"), (-62_167_219_200, "0000-01-01T00:00:00.000Z"),
            (-62_198_755_200, "-0001-01-01T00:00:00.000Z"),
        ]
        for (seconds, expected) in cases {
            #expect(WireJSON.format(Date(timeIntervalSince1970: seconds)) == expected)
        }
    }

    @Test("JSON values of every kind, as callers send them in `context`")
    func jsonValues() throws {
        let value: JSONValue = .object([
            "pending_items": .array([.string("the guest list"), .string("the menu choice")]),
            "count": .int(3), "ratio": .double(0.25), "whole": .double(2), "flag": .bool(true), "none": .null,
            "nested": .object(["z": .array([]), "y": .object([:]), "x": .string("<b>&amp;</b> / \u{1}")]),
        ])
        try expectSame(value)
    }

    @Test("a communication, as `communicate` answers with it and the store keeps its columns")
    func communication() throws {
        let request = CommunicationRequest(
            planID: UUID(), clientID: UUID(), messageType: .reminder, urgency: .critical,
            recipient: Recipient(email: try EmailAddress(validating: "priya@example.com"), phone: try PhoneNumber(validating: "+919876543210")),
            context: ["client_name": .string("Priya Sharma"), "pending_items": .array([.string("the guest list")])]
        )
        let now = Date(timeIntervalSince1970: 1_764_590_400.5)
        let communication = Communication(
            id: .timeOrdered(at: now), request: request,
            decision: Decision(channels: [.email, .sms], sendAt: now, priority: 10, reasons: ["critical: every channel"]),
            status: .queued, createdAt: now
        )
        try expectSame(communication)
        try expectSame(StatusChange(accepted: communication))
        try expectSame(communication.decision)
        try expectSame(communication.recipient)
    }

    private struct Nested: Encodable {
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode("last", forKey: AnyKey("z"))
            var inner = container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("inner"))
            try inner.encode(1, forKey: AnyKey("b"))
            try inner.encodeNil(forKey: AnyKey("a"))
            var list = container.nestedUnkeyedContainer(forKey: AnyKey("list"))
            try list.encode("x")
            var deeper = list.nestedContainer(keyedBy: AnyKey.self)
            try deeper.encode(true, forKey: AnyKey("ok"))
            var empty = list.nestedUnkeyedContainer()
            try empty.encodeNil()
            try container.encodeIfPresent(Int?.none, forKey: AnyKey("absent"))
            try container.encode([Empty()], forKey: AnyKey("empties"))
        }
    }

    /// Asks twice for the same nested containers: both times they write into the same place.
    private struct NestedTwice: Encodable {
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            var first = container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("n"))
            try first.encode(1, forKey: AnyKey("a"))
            var second = container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("n"))
            try second.encode(2, forKey: AnyKey("b"))
            var list = container.nestedUnkeyedContainer(forKey: AnyKey("l"))
            try list.encode(1)
            var again = container.nestedUnkeyedContainer(forKey: AnyKey("l"))
            try again.encode(2)
        }
    }

    private struct Empty: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    private class Parent: Encodable {
        var shared = "parent"
        private enum CodingKeys: String, CodingKey { case shared }
    }

    private final class Child: Parent, @unchecked Sendable {
        let own = 2
        private enum CodingKeys: String, CodingKey { case own }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(own, forKey: .own)
            try super.encode(to: container.superEncoder())
            try super.encode(to: encoder)
        }
    }

    private struct Twice: Encodable {
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode(1, forKey: AnyKey("k"))
            try container.encode(2, forKey: AnyKey("j"))
            try container.encode(3, forKey: AnyKey("k"))
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
