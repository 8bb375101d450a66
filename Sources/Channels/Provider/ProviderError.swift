package import CRMModel
package import Foundation

/// A provider did not accept a message, and what kind of failure that was.
package struct ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The categories are the domain's (`FailureCategory`); the policy's table has the last word.
    package typealias Category = FailureCategory

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
