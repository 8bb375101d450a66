package import Channels
package import CRMModel

/// The one place that decides what a provider's failure means for the next step. Providers report
/// facts (`ProviderError`: how far the message got, their own code, `Retry-After`); this table, by
/// provider name (`smtp`, `twilio`, `whatsapp`, `outbox`) and provider code, says which
/// `FailureCategory` that is. Providers change their codes, so the table is policy (overridable code
/// by code in the policy file's `error_classes`), not code.
///
/// A code the table does not list (or no code) gets a default from how far the message got:
/// - not reached, or the conversation broke off before a refusal (network failure, timeout, TLS
///   failure without a code the table lists, shutting down): `transient`;
/// - refused here before sending (header injection, no WhatsApp template, cannot encode): `permanent`;
/// - an HTTP status: 429 `rate_limited`; 401 and 403 `auth`; 408 and 5xx `transient`; any other 4xx
///   `permanent`; anything else (a 3xx) `transient`. A 2xx is a success even when its body names
///   no message id: the provider took the message, and a retry would deliver it twice;
/// - an SMTP reply: 4xx `transient`, 5xx `permanent`.
///
/// The SMTP provider's codes are reply codes, except for four things libcurl recognises whatever the
/// reply: `login_denied` (credentials refused), `tls` (certificate not trusted or not for the host,
/// CA file unreadable), `starttls_unavailable` (the server offers no STARTTLS), which the seed makes
/// `auth` since only an operator can fix them, and `tls_handshake` (the handshake failed: a dropped
/// or garbled connection), `transient` like any other network failure. libcurl reports some
/// settings the same way (implicit TLS against a plain port, no common protocol version or cipher),
/// so those now fail each message over to the next channel rather than mark email down;
/// `crm-sidecar check smtp` finds them before deployment.
package enum ErrorClasses {
    package typealias Table = [String: [String: FailureCategory]]

    /// From the providers' documentation: SMTP reply codes (RFC 5321, RFC 3207, RFC 4954), Twilio's
    /// error codes, and the WhatsApp Cloud API's (Graph API) error codes. Only what the defaults would
    /// get wrong, or what is worth stating, is listed.
    package static let seed: Table = [
        "smtp": [
            // What libcurl recognises before or whatever the reply: only an operator can fix them.
            "login_denied": .auth, "tls": .auth, "starttls_unavailable": .auth,
            // A handshake that broke off is the network's doing, as with an HTTPS provider; one such
            // failure must not take email down until an operator restarts the sidecar.
            "tls_handshake": .transient,
            // 421 service not available, 450 mailbox busy, 451 local error, 452 insufficient storage.
            "421": .transient, "450": .transient, "451": .transient, "452": .transient,
            // 454 TLS or authentication temporarily unavailable, 530 authentication required,
            // 534 mechanism too weak, 535 credentials invalid (RFC 4954).
            "454": .auth, "530": .auth, "534": .auth, "535": .auth,
            // 550 mailbox unavailable, 551 user not local, 553 mailbox name not allowed: the address.
            "550": .invalidRecipient, "551": .invalidRecipient, "553": .invalidRecipient,
            // 552 exceeded storage allocation, 554 transaction failed: the message, not the address.
            "552": .permanent, "554": .permanent,
        ],
        "twilio": [
            "20003": .auth,  // authentication error
            "20429": .rateLimited,  // too many requests
            "30001": .transient,  // queue overflow
            // 21211 invalid 'To' number, 21612 'To' number not reachable by SMS (from this sender),
            // 21614 'To' number is not a mobile number, 30003 unreachable handset,
            // 30005 unknown handset, 30006 landline or unreachable carrier.
            "21211": .invalidRecipient, "21612": .invalidRecipient, "21614": .invalidRecipient,
            "30003": .invalidRecipient, "30005": .invalidRecipient, "30006": .invalidRecipient,
            // The recipient replied STOP: the channel is closed to them, the address is not wrong.
            "21610": .permanent,
            // "Permission to send an SMS has not been enabled for the region indicated by the 'To'
            // number": our account's geographic permissions, not the recipient's fault (the number is
            // valid) and not our credentials (other regions still work, so the provider stays healthy).
            // No retry helps until an operator enables the region: permanent for this channel.
            "21408": .permanent,
            "30007": .permanent,  // filtered by the carrier
        ],
        "whatsapp": [
            "190": .auth,  // access token expired or invalid
            // 4 application request limit, 80007 business account rate limit, 130429 throughput
            // limit, 131056 too many messages to one number.
            "4": .rateLimited, "80007": .rateLimited, "130429": .rateLimited, "131056": .rateLimited,
            // 131000 something went wrong, 131016 service unavailable.
            "131000": .transient, "131016": .transient,
            "131026": .invalidRecipient,  // undeliverable: not on WhatsApp, or old terms not accepted
            // 131047 more than 24 hours since the client wrote (re-engagement needs a template),
            // 131051 unsupported message type.
            "131047": .permanent, "131051": .permanent,
        ],
    ]

    /// The category `error` has under `table` for `provider`: the table's entry for its code, or else
    /// the default for how far the message got (above).
    package static func category(of error: ProviderError, from provider: String, in table: Table) -> FailureCategory {
        if let code = error.providerCode, let listed = table[provider]?[code] { return listed }
        return defaultCategory(for: error.answer)
    }

    /// The category of a failure whose code the table does not list; documented on the type.
    package static func defaultCategory(for answer: ProviderError.Answer) -> FailureCategory {
        switch answer {
        case .noAnswer: .transient
        case .notSent: .permanent
        case .http(429): .rateLimited
        case .http(401), .http(403): .auth
        case .http(408), .http(500..<600): .transient
        case .http(400..<500): .permanent
        case .http: .transient
        case .smtp(400..<500): .transient
        case .smtp(500..<600): .permanent
        case .smtp: .transient
        }
    }
}
