package import CRMModel

extension DeliveryMachine {
    /// One call to a provider.
    package struct Send: Sendable, Equatable {
        package var channel: Channel
        /// The provider's name, as in `ProviderRegistry`.
        package var provider: String
        /// The client's address on `channel`.
        package var address: String
        /// The attempt's number, counted across all channels of the communication.
        package var attempt: Int
        /// The language the message is rendered in.
        package var language: String
        /// Whether other low-urgency messages of the client may ride along as a digest.
        package var digest: Bool
    }
}
