public import Foundation

/// How a client wants to be reached: preferred channels, time zone and quiet hours, and the channels
/// they opted out of.
public struct ClientPreferences: Sendable, Equatable, Codable {
    public var clientID: UUID
    /// Tried first, before the other channels, each ordered by the message's channel table.
    public var preferredChannels: [Channel]
    public var timezone: IANATimeZone
    /// Quiet hours in the client's time zone; they may span midnight (22:00 to 08:00).
    public var quietHoursStart: LocalTime
    public var quietHoursEnd: LocalTime
    public var optOutEmail: Bool
    public var optOutSMS: Bool
    public var optOutWhatsApp: Bool
    /// A BCP 47 language tag such as `en` or `hi`; templates fall back to English.
    public var languagePreference: String
    /// When these preferences were last stored; nil for defaults never stored.
    public var updatedAt: Date?

    public init(
        clientID: UUID,
        preferredChannels: [Channel] = [],
        timezone: IANATimeZone = .utc,
        quietHoursStart: LocalTime = LocalTime(hour: 22, minute: 0),
        quietHoursEnd: LocalTime = LocalTime(hour: 8, minute: 0),
        optOutEmail: Bool = false,
        optOutSMS: Bool = false,
        optOutWhatsApp: Bool = false,
        languagePreference: String = "en",
        updatedAt: Date? = nil
    ) {
        self.clientID = clientID
        self.preferredChannels = preferredChannels
        self.timezone = timezone
        self.quietHoursStart = quietHoursStart
        self.quietHoursEnd = quietHoursEnd
        self.optOutEmail = optOutEmail
        self.optOutSMS = optOutSMS
        self.optOutWhatsApp = optOutWhatsApp
        self.languagePreference = languagePreference
        self.updatedAt = updatedAt
    }

    public func isOptedOut(of channel: Channel) -> Bool {
        switch channel {
        case .email: optOutEmail
        case .sms: optOutSMS
        case .whatsapp: optOutWhatsApp
        }
    }

    public mutating func setOptedOut(_ optedOut: Bool, of channel: Channel) {
        switch channel {
        case .email: optOutEmail = optedOut
        case .sms: optOutSMS = optedOut
        case .whatsapp: optOutWhatsApp = optedOut
        }
    }

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id"
        case preferredChannels = "preferred_channels"
        case timezone
        case quietHoursStart = "quiet_hours_start"
        case quietHoursEnd = "quiet_hours_end"
        case optOutEmail = "opt_out_email"
        case optOutSMS = "opt_out_sms"
        case optOutWhatsApp = "opt_out_whatsapp"
        case languagePreference = "language_preference"
        case updatedAt = "updated_at"
    }
}
