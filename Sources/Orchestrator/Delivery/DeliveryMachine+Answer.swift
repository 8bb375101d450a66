package import CRMModel
package import Foundation

extension DeliveryMachine {
    /// What a provider's answer amounts to.
    package struct Answer: Sendable, Equatable {
        /// To be recorded, with `movesTo`, in one transaction.
        package var attempt: Attempt
        package var movesTo: CommunicationStatus?
        /// The category of the failure, when it failed.
        package var failure: FailureCategory?
        /// Sent on another channel than the decision's first: this one.
        package var fellBackFrom: Channel?
        /// The provider refused our credentials: it is unhealthy, for this reason, until an operator acts.
        package var unhealthy: String?
        /// The provider asked for this many seconds' rest: hold every send to it back that long.
        package var pauseProvider: TimeInterval?

        package init(
            attempt: Attempt, movesTo: CommunicationStatus?, failure: FailureCategory? = nil, fellBackFrom: Channel? = nil,
            unhealthy: String? = nil, pauseProvider: TimeInterval? = nil
        ) {
            self.attempt = attempt
            self.movesTo = movesTo
            self.failure = failure
            self.fellBackFrom = fellBackFrom
            self.unhealthy = unhealthy
            self.pauseProvider = pauseProvider
        }
    }
}
