package import Foundation

/// A provider did not accept a message, and what kind of failure that was.
package struct ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Category: String, Sendable, Equatable {
        /// Worth retrying on the same channel after a backoff.
        case transient
        /// The provider asked to slow down; wait (for `retryAfter` when given) without using up an attempt.
        case rateLimited = "rate_limited"
        /// Retrying will not help on this channel: move to the next.
        case permanent
        /// The address is wrong or unreachable on this channel: move to the next.
        case invalidRecipient = "invalid_recipient"
        /// Our credentials were refused: the provider is unhealthy until an operator acts.
        case auth
    }

    package var category: Category
    /// What went wrong, for the attempt record and logs; no bodies, no credentials.
    package var message: String
    /// The provider's own code, when it gave one (an SMTP reply code, a Twilio or Meta error code).
    package var providerCode: String?
    package var retryAfter: TimeInterval?

    package init(_ category: Category, _ message: String, providerCode: String? = nil, retryAfter: TimeInterval? = nil) {
        self.category = category
        self.message = message
        self.providerCode = providerCode
        self.retryAfter = retryAfter
    }

    package var description: String {
        "\(category.rawValue): \(message)" + (providerCode.map { " (code \($0))" } ?? "")
    }
}
