import CRMModel
import Foundation
import Logging

/// One log record as a line of JSON, written byte by byte.
///
/// Why not `JSONSerialization`: a log line is written for every message sent, and Foundation's
/// writer and its `ISO8601DateFormatter` (through ICU) cost more than the send itself. The text is
/// what a reader of the old lines expects: one object, keys sorted (by code point, where Foundation
/// may have ordered some differently), strings escaped as RFC 8259 requires, slashes and non-ASCII
/// as they are, the time (`WireJSON.format`) as RFC 3339 UTC with milliseconds.
struct LogLine {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// `{"key":value,...}` and a newline, keys in sorted order.
    mutating func object(_ fields: [(String, Logger.Metadata.Value)]) {
        bytes.append(UInt8(ascii: "{"))
        for (index, (key, value)) in fields.sorted(by: { $0.0 < $1.0 }).enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(key)
            bytes.append(UInt8(ascii: ":"))
            self.value(value)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Ends the line.
    mutating func newline() {
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func value(_ value: Logger.Metadata.Value) {
        switch value {
        case .string(let text): string(text)
        case .stringConvertible(let convertible): string(convertible.description)
        case .array(let values):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                self.value(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .dictionary(let values):
            object(values.map { ($0.key, $0.value) })
        }
    }

    mutating func string(_ text: String) {
        JSONValue.appendString(text, to: &bytes)
    }
}
