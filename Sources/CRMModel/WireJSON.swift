public import Foundation

/// The JSON conventions of the wire and of stored JSON columns: RFC 3339 UTC times with
/// milliseconds, keys as each type names them (snake_case) and sorted so output is reproducible, no
/// escaped slashes.
///
/// Key conversion strategies are deliberately not used: they would also rewrite the keys of a
/// caller's `context` dictionary.
public enum WireJSON {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let withoutFraction = Date.ISO8601FormatStyle()

    /// Formats from the date rounded to whole milliseconds, the same rounding the stores use, so a
    /// time reads back exactly as it was first answered: `2026-05-01T09:00:00.000Z`.
    ///
    /// Written out by hand (the civil date from the day number, after Howard Hinnant's
    /// `civil_from_days`): every status change, answer and stored row formats times, and a format
    /// style costs more than the rest of encoding a notification.
    public static func format(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (days, dayMilliseconds) = floorDivision(milliseconds, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        guard (0...9999).contains(year) else { return formatWide(year: year, month: month, day: day, dayMilliseconds) }
        let seconds = dayMilliseconds / 1000
        // 24 ASCII bytes written in place: no intermediate strings.
        return String(unsafeUninitializedCapacity: 24) { buffer in
            func put(_ value: Int64, width: Int, at offset: Int) {
                var value = value
                for position in stride(from: offset + width - 1, through: offset, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            put(year, width: 4, at: 0)
            put(month, width: 2, at: 5)
            put(day, width: 2, at: 8)
            put(seconds / 3600, width: 2, at: 11)
            put(seconds / 60 % 60, width: 2, at: 14)
            put(seconds % 60, width: 2, at: 17)
            put(dayMilliseconds % 1000, width: 3, at: 20)
            for (offset, character) in [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z")] as [(Int, Unicode.Scalar)] {
                buffer[offset] = UInt8(ascii: character)
            }
            return 24
        }
    }

    /// A year before 0 or after 9999, which no four digits hold: written as the digits need.
    private static func formatWide(year: Int64, month: Int64, day: Int64, _ dayMilliseconds: Int64) -> String {
        let seconds = dayMilliseconds / 1000
        func padded(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.utf8.count)) + digits
        }
        let yearText = year < 0 ? "-" + padded(-year, 4) : padded(year, 4)
        return "\(yearText)-\(padded(month, 2))-\(padded(day, 2))T\(padded(seconds / 3600, 2)):\(padded(seconds / 60 % 60, 2)):"
            + "\(padded(seconds % 60, 2)).\(padded(dayMilliseconds % 1000, 3))Z"
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    /// The proleptic Gregorian year, month and day of the day `days` after 1970-01-01.
    private static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = floorDivision(shifted, 146_097).quotient
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Parses an RFC 3339 time with or without fractional seconds, in UTC (`Z`) or with an offset.
    public static func parseDate(_ string: String) -> Date? {
        (try? withFraction.parse(string)) ?? (try? withoutFraction.parse(string))
    }

    /// Appends `text` as a JSON string, escaped as the wire's encoder escapes it.
    public static func appendString(_ text: String, to bytes: inout [UInt8]) {
        WireTree.appendString(text, to: &bytes)
    }

    /// The encoder of the wire and of stored JSON.
    public static func makeEncoder() -> WireEncoder {
        WireEncoder()
    }

    /// Foundation's encoder with the same conventions: for what must stay byte for byte as earlier
    /// versions wrote it (idempotency fingerprints), and for tests to hold `WireEncoder` to it.
    public static func makeFoundationEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(format(date))
        }
        return encoder
    }

    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let string = try container.decode(String.self)
            guard let date = parseDate(string) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "must be an RFC 3339 time such as 2026-05-01T09:00:00Z")
                )
            }
            return date
        }
        return decoder
    }
}
