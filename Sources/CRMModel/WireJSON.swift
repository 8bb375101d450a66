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
    /// time reads back exactly as it was first answered.
    public static func format(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (seconds, remainder) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let (wholeSeconds, fraction) = remainder < 0 ? (seconds - 1, remainder + 1000) : (seconds, remainder)
        let base = withoutFraction.format(Date(timeIntervalSince1970: Double(wholeSeconds)))
        let digits = String(fraction)
        return base.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    /// Parses an RFC 3339 time with or without fractional seconds, in UTC (`Z`) or with an offset.
    public static func parseDate(_ string: String) -> Date? {
        (try? withFraction.parse(string)) ?? (try? withoutFraction.parse(string))
    }

    public static func makeEncoder() -> JSONEncoder {
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
