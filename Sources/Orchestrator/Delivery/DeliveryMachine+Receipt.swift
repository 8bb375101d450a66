package import CRMModel

extension DeliveryMachine {
    /// What a provider's delivery report means for the communication.
    package enum Receipt: Sendable, Equatable {
        /// Move the communication to the report's status (forward only, as every receipt).
        case move
        /// A report on a send already fallen back from: history, nothing changes.
        case ignore
        /// Not delivered, and a channel is left: record this failed attempt and make the work due now.
        case fallBack(Attempt)
    }
}
