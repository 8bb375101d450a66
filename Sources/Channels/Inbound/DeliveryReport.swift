package import CRMModel
package import Foundation

/// A provider's word on a message it accepted earlier, found again by the provider's message id.
package struct DeliveryReport: Sendable, Equatable {
    package var channel: Channel
    package var providerMessageID: String
    package var status: CommunicationStatus
    /// When it happened at the provider, when the provider says (Meta does; Twilio does not): receipts
    /// arrive out of order, and the timeline keeps the provider's time.
    package var at: Date
    /// The provider's error, redacted, for `failed` and `bounced`.
    package var error: String?
    package var providerCode: String?

    package init(
        channel: Channel, providerMessageID: String, status: CommunicationStatus, at: Date,
        error: String? = nil, providerCode: String? = nil
    ) {
        self.channel = channel
        self.providerMessageID = providerMessageID
        self.status = status
        self.at = at
        self.error = error
        self.providerCode = providerCode
    }
}
