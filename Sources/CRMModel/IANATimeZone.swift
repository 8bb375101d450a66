public import Foundation

/// A time zone named by its IANA identifier, such as `Asia/Kolkata`.
///
/// Abbreviations (`EST`) and fixed offsets (`GMT+5`) are refused: they do not follow daylight saving
/// time, so quiet hours computed from them would be an hour off for half the year.
public struct IANATimeZone: Sendable, Hashable, Codable, CustomStringConvertible {
    public let identifier: String
    public let timeZone: TimeZone

    /// An `Area/Location` name that the time zone data (ICU's copy of the IANA database, shipped with
    /// Foundation) resolves to itself, or `UTC`. `TimeZone.knownTimeZoneIdentifiers` is not used: it
    /// lists ICU's canonical names, which lag behind IANA's (`Asia/Calcutta`, not `Asia/Kolkata`).
    /// Requiring the name back unchanged refuses what ICU merely parses (`GMT+5` becomes `GMT+0500`).
    public init(validating identifier: String) throws(FieldError) {
        let resolved = TimeZone(identifier: identifier)
        let isAreaLocation = identifier.contains("/") && resolved?.identifier == identifier
        guard isAreaLocation || identifier == "UTC", let timeZone = resolved else {
            throw FieldError(
                field: "",
                reason: "is not a time zone of the IANA database; use a Region/City name such as Asia/Kolkata, America/New_York or UTC"
            )
        }
        self.identifier = identifier
        self.timeZone = timeZone
    }

    public static let utc = try! IANATimeZone(validating: "UTC")

    public var description: String { identifier }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(validating: raw) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.reason))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(identifier)
    }
}
