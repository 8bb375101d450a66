import CRMModel
import Foundation

/// Client preferences as the values of their `client_preferences` row.
struct PreferencesColumns: Sendable {
    var clientID: String
    var preferredChannels: String
    var timezone: String
    var quietHoursStart: String
    var quietHoursEnd: String
    var optOutEmail: Bool
    var optOutSMS: Bool
    var optOutWhatsApp: Bool
    var languagePreference: String
    var updatedAt: Int64

    init(
        clientID: String, preferredChannels: String, timezone: String, quietHoursStart: String, quietHoursEnd: String,
        optOutEmail: Bool, optOutSMS: Bool, optOutWhatsApp: Bool, languagePreference: String, updatedAt: Int64
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

    /// What the audit log keeps of a save: the consent flags and what set them, which CAN-SPAM and
    /// the GDPR ask us to be able to show the history of.
    func auditDetail(source: String) -> String {
        "opt_out_email=\(optOutEmail) opt_out_sms=\(optOutSMS) opt_out_whatsapp=\(optOutWhatsApp) source=\(source)"
    }

    init(_ preferences: ClientPreferences, encoder: WireEncoder) throws(StoreError) {
        let channels: Data
        do { channels = try encoder.encode(preferences.preferredChannels) } catch {
            throw StoreError(.corruptRecord, "cannot encode preferred channels")
        }
        self.init(
            clientID: preferences.clientID.key,
            preferredChannels: String(decoding: channels, as: UTF8.self),
            timezone: preferences.timezone.identifier,
            quietHoursStart: preferences.quietHoursStart.description,
            quietHoursEnd: preferences.quietHoursEnd.description,
            optOutEmail: preferences.optOutEmail,
            optOutSMS: preferences.optOutSMS,
            optOutWhatsApp: preferences.optOutWhatsApp,
            languagePreference: preferences.languagePreference,
            updatedAt: (preferences.updatedAt ?? Date()).millisecondsSince1970
        )
    }

    func preferences(decoder: JSONDecoder) throws(StoreError) -> ClientPreferences {
        do {
            guard let uuid = UUID(hexString: clientID) else { throw FieldError(field: "client_id", reason: "not a UUID") }
            return ClientPreferences(
                clientID: uuid,
                preferredChannels: try decoder.decode([Channel].self, from: Data(preferredChannels.utf8)),
                timezone: try IANATimeZone(validating: timezone),
                quietHoursStart: try LocalTime(validating: quietHoursStart),
                quietHoursEnd: try LocalTime(validating: quietHoursEnd),
                optOutEmail: optOutEmail,
                optOutSMS: optOutSMS,
                optOutWhatsApp: optOutWhatsApp,
                languagePreference: languagePreference,
                updatedAt: Date(millisecondsSince1970: updatedAt)
            )
        } catch {
            throw StoreError(.corruptRecord, "preferences of client \(clientID) cannot be read")
        }
    }
}
