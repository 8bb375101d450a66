import CRMModel
import Foundation
import Testing

@Suite("Reading JSON strictly")
struct JSONParserTests {
    func parse(_ text: String) throws(JSONParser.Failure) -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    @Test("values come out as Foundation's decoder gives them", arguments: [
        "1e2", "100.0", "1.5", "-0", "-0.0", "1E+2", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "-9223372036854775808", "0.1e1", "1e-400", "123456789012345678901234567890", "1.0000000000000001", "4.9e-324",
        "17976931348623157e292", #"{"a":1,"a":2}"#, #""\ud800\udc00""#, #""\u0000\n\/\"\\ \u00e9 é""#, " [ true , false , null ] ",
        #"{"id":[{"x":{}}],"":""}"#, "[]", "{}", #""""#, "9007199254740993.0", "9.2e18", "4503599627370496.5",
        "9220223372036854775.08", "1e18", "-1e17", "1e-400", "100000000000000000000e-2", "-9223372036854775808.0", "0e999999999999",
    ])
    func likeFoundation(_ text: String) throws {
        #expect(try parse(text) == JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))
    }

    @Test("what RFC 8259 does not allow is refused, where Foundation reads it", arguments: [
        "[1,]", #"{"a":1,}"#, #"{"a":"x","a":01}"#, #"{"a":"x","a":"\x"}"#, "\u{FEFF}1", #"{"a":1,"a":1e400}"#,
    ])
    func stricterThanFoundation(_ text: String) throws {
        #expect((try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) != nil)
        #expect(throws: JSONParser.Failure.self) { try parse(text) }
    }

    @Test("text that is not JSON is refused with the reason and where", arguments: [
        ("01", "a number cannot start with 0 and more digits at byte 1"),
        ("1.", "expected a digit after the decimal point at byte 3"),
        (".5", "a value cannot start with '.' at byte 1"),
        ("+1", "a value cannot start with '+' at byte 1"),
        ("\"a\tb\"", "a control character in a string must be escaped at byte 3"),
        ("tru", "expected true at byte 1"),
        ("[1 2]", "expected ',' or ']' after an array's element at byte 4"),
        (#"{"a" 1}"#, "expected ':' after a member's name at byte 6"),
        (#""\ud800""#, "a high surrogate without a low one after it at byte 8"),
        (#""\udc00""#, "a low surrogate without a high one before it at byte 8"),
        ("-", "expected a digit at byte 2"),
        ("1e", "expected a digit in the exponent at byte 3"),
        ("1e400", "a number too large for a double at byte 1"),
        ("\"abc", "a string is not closed at byte 5"),
        ("1 2", "more text after the JSON value at byte 3"),
        ("", "the text ends where a value should be at byte 1"),
        (#"{"a":1,}"#, "expected a member's name in double quotes at byte 8"),
    ])
    func refused(_ text: String, _ message: String) {
        #expect(throws: JSONParser.Failure.self) { try parse(text) }
        do { _ = try parse(text) } catch { #expect(error.description == message) }
    }

    @Test("UTF-16 text and invalid UTF-8 in a string are refused")
    func encodings() {
        let utf16 = Array(#"{"a":1}"#.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(utf16) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0x5C, 0x6E, 0xC3, 0x22]) }
    }

    @Test("nesting past the limit is refused, not a stack overflow")
    func depth() throws {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(repeating: UInt8(ascii: "["), count: 100_000)) }
        #expect(try JSONParser.parse(Array("[[[1]]]".utf8), maxDepth: 3) == .array([.array([.array([.int(1)])])]))
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array("[[[1]]]".utf8), maxDepth: 2) }
    }

    @Test("every value JSONValue writes reads back")
    func roundTrip() throws {
        let value = JSONValue.object([
            "s": .string("a\"\\\u{0}\u{1F}é😀\u{2028}"), "i": .int(.min), "d": .double(-1.5e-300), "b": .bool(true), "n": .null,
            "a": .array([.int(0), .double(0.1), .object([:])]),
        ])
        #expect(try JSONParser.parse(value.serialized()) == value)
    }
}
