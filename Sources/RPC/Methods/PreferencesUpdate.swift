package import CRMModel
import Foundation
import Orchestrator

/// `preferences.update`: changes the fields given and keeps the others; answers with the stored
/// preferences.
package enum PreferencesUpdate: RPCMethod {
    package static let name = "preferences.update"

    package struct Params: RPCParams {
        var clientID: UUID
        var change: PreferencesChange

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case clientID = "client_id"
            case preferredChannels = "preferred_channels"
            case timezone
            case quietHoursStart = "quiet_hours_start"
            case quietHoursEnd = "quiet_hours_end"
            case optOutEmail = "opt_out_email"
            case optOutSMS = "opt_out_sms"
            case optOutWhatsApp = "opt_out_whatsapp"
            case languagePreference = "language_preference"
        }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            clientID = try container.decode(UUID.self, forKey: .clientID)
            change = PreferencesChange(
                preferredChannels: try container.decodeIfPresent([Channel].self, forKey: .preferredChannels),
                timezone: try container.decodeIfPresent(IANATimeZone.self, forKey: .timezone),
                quietHoursStart: try container.decodeIfPresent(LocalTime.self, forKey: .quietHoursStart),
                quietHoursEnd: try container.decodeIfPresent(LocalTime.self, forKey: .quietHoursEnd),
                optOutEmail: try container.decodeIfPresent(Bool.self, forKey: .optOutEmail),
                optOutSMS: try container.decodeIfPresent(Bool.self, forKey: .optOutSMS),
                optOutWhatsApp: try container.decodeIfPresent(Bool.self, forKey: .optOutWhatsApp),
                languagePreference: try container.decodeIfPresent(String.self, forKey: .languagePreference)
            )
            if let channels = change.preferredChannels, Set(channels).count != channels.count {
                throw FieldError(field: "preferred_channels", reason: "must not name a channel twice")
            }
            if let language = change.languagePreference, !Self.isLanguageTag(language) {
                throw FieldError(field: "language_preference", reason: "must be a BCP 47 language tag such as en, hi or pt-BR")
            }
        }

        private static func isLanguageTag(_ tag: String) -> Bool {
            let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
            guard let primary = parts.first, (2...3).contains(primary.count), primary.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                return false
            }
            return parts.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
        }
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> ClientPreferences {
        do {
            return try await context.engine.updatePreferences(for: params.clientID, with: params.change)
        } catch {
            throw RPCError(error)
        }
    }
}
