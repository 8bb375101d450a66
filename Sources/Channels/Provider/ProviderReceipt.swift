/// A provider accepted a message.
package struct ProviderReceipt: Sendable, Equatable {
    /// The provider's id for the message; delivery receipts refer to it. Nil when the provider
    /// answered that it took the message (a 2xx) but its answer named no id we could read (a body
    /// cut short by a proxy): the message counts as sent, since sending it again would deliver it
    /// twice, and its receipts cannot be matched to it.
    package var providerMessageID: String?

    package init(providerMessageID: String?) {
        self.providerMessageID = providerMessageID
    }
}
