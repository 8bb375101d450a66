/// A partial update of a client's preferences: each field present replaces the stored one.
public struct PreferencesChange: Sendable, Equatable {
    public var preferredChannels: [Channel]?
    public var timezone: IANATimeZone?
    public var quietHoursStart: LocalTime?
    public var quietHoursEnd: LocalTime?
    public var optOutEmail: Bool?
    public var optOutSMS: Bool?
    public var optOutWhatsApp: Bool?
    public var languagePreference: String?

    public init(
        preferredChannels: [Channel]? = nil,
        timezone: IANATimeZone? = nil,
        quietHoursStart: LocalTime? = nil,
        quietHoursEnd: LocalTime? = nil,
        optOutEmail: Bool? = nil,
        optOutSMS: Bool? = nil,
        optOutWhatsApp: Bool? = nil,
        languagePreference: String? = nil
    ) {
        self.preferredChannels = preferredChannels
        self.timezone = timezone
        self.quietHoursStart = quietHoursStart
        self.quietHoursEnd = quietHoursEnd
        self.optOutEmail = optOutEmail
        self.optOutSMS = optOutSMS
        self.optOutWhatsApp = optOutWhatsApp
        self.languagePreference = languagePreference
    }

    /// `preferences` with this change applied.
    public func applied(to preferences: ClientPreferences) -> ClientPreferences {
        var result = preferences
        if let preferredChannels { result.preferredChannels = preferredChannels }
        if let timezone { result.timezone = timezone }
        if let quietHoursStart { result.quietHoursStart = quietHoursStart }
        if let quietHoursEnd { result.quietHoursEnd = quietHoursEnd }
        if let optOutEmail { result.optOutEmail = optOutEmail }
        if let optOutSMS { result.optOutSMS = optOutSMS }
        if let optOutWhatsApp { result.optOutWhatsApp = optOutWhatsApp }
        if let languagePreference { result.languagePreference = languagePreference }
        return result
    }
}
