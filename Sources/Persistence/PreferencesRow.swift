import CRMModel
import Foundation
import GRDB

/// How client preferences map to a `client_preferences` row and back.
enum PreferencesRow {
    static func arguments(_ preferences: ClientPreferences, encoder: JSONEncoder) throws(StoreError) -> StatementArguments {
        let channels: Data
        do { channels = try encoder.encode(preferences.preferredChannels) } catch {
            throw StoreError(.corruptRecord, "cannot encode preferred channels")
        }
        return [
            preferences.clientID.uuidString.lowercased(),
            String(decoding: channels, as: UTF8.self),
            preferences.timezone.identifier,
            preferences.quietHoursStart.description,
            preferences.quietHoursEnd.description,
            preferences.optOutEmail,
            preferences.optOutSMS,
            preferences.optOutWhatsApp,
            preferences.languagePreference,
            (preferences.updatedAt ?? Date()).millisecondsSince1970,
        ]
    }

    static func preferences(from row: Row, decoder: JSONDecoder) throws -> ClientPreferences {
        let clientID: String = row["client_id"]
        do {
            guard let uuid = UUID(uuidString: clientID) else { throw FieldError(field: "client_id", reason: "not a UUID") }
            return ClientPreferences(
                clientID: uuid,
                preferredChannels: try decoder.decode([Channel].self, from: Data((row["preferred_channels"] as String).utf8)),
                timezone: try IANATimeZone(validating: row["timezone"]),
                quietHoursStart: try LocalTime(validating: row["quiet_hours_start"]),
                quietHoursEnd: try LocalTime(validating: row["quiet_hours_end"]),
                optOutEmail: row["opt_out_email"],
                optOutSMS: row["opt_out_sms"],
                optOutWhatsApp: row["opt_out_whatsapp"],
                languagePreference: row["language_preference"],
                updatedAt: Date(millisecondsSince1970: row["updated_at"])
            )
        } catch {
            throw StoreError(.corruptRecord, "preferences of client \(clientID) cannot be read")
        }
    }
}
