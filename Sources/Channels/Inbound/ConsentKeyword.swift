import Foundation

/// The keywords carriers and Twilio treat as a change of consent when they are the whole message:
/// STOP and its kin opt the client out of the channel, START opts back in (CTIA guidelines; Twilio's
/// default opt-out keywords). "YES" is left to the workflow as a confirmation.
package enum ConsentKeyword: Sendable, Equatable {
    case optOut
    case optIn

    private static let optOuts: Set<String> = ["stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "optout", "opt out", "revoke"]
    private static let optIns: Set<String> = ["start", "unstop", "subscribe"]

    package init?(message text: String) {
        let normalized = text.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters)).lowercased()
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
        if Self.optOuts.contains(normalized) {
            self = .optOut
        } else if Self.optIns.contains(normalized) {
            self = .optIn
        } else {
            return nil
        }
    }
}
