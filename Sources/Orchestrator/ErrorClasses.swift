package import Channels

/// What a provider's own error code means for the next step, by provider name and code. Providers
/// change their codes, so the table is policy (overridable in the policy file), not code; a code it
/// does not list keeps the category the provider gave it (for SMTP, 4xx transient and 5xx permanent).
package enum ErrorClasses {
    package typealias Table = [String: [String: ProviderError.Category]]

    /// From the providers' documentation: SMTP reply codes (RFC 5321, 4954), Twilio error codes,
    /// and the WhatsApp Cloud API's error codes.
    package static let seed: Table = [
        "smtp": [
            "421": .transient, "450": .transient, "451": .transient, "452": .transient,
            "454": .auth, "530": .auth, "534": .auth, "535": .auth,
            "550": .invalidRecipient, "551": .invalidRecipient, "553": .invalidRecipient,
            "552": .permanent, "554": .permanent,
        ],
        "twilio": [
            "20003": .auth, "20429": .rateLimited, "30001": .transient,
            "21211": .invalidRecipient, "21614": .invalidRecipient, "30003": .invalidRecipient,
            "30005": .invalidRecipient, "30006": .invalidRecipient,
            "21610": .permanent, "21408": .permanent, "30007": .permanent,
        ],
        "whatsapp": [
            "190": .auth, "130429": .rateLimited, "131056": .rateLimited, "80007": .rateLimited,
            "131000": .transient, "131016": .transient,
            "131026": .invalidRecipient, "131047": .permanent, "131051": .permanent,
        ],
    ]

    /// The category `error` has under `table` for `provider`.
    package static func category(of error: ProviderError, from provider: String, in table: Table) -> ProviderError.Category {
        guard let code = error.providerCode, let mapped = table[provider]?[code] else { return error.category }
        return mapped
    }
}
