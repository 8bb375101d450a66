/// A provider accepted a message.
package struct ProviderReceipt: Sendable, Equatable {
    /// The provider's id for the message; delivery receipts refer to it.
    package var providerMessageID: String

    package init(providerMessageID: String) {
        self.providerMessageID = providerMessageID
    }
}
