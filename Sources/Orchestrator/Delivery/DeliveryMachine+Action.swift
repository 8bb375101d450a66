package import CRMModel
package import Foundation

extension DeliveryMachine {
    /// What the machine asks its caller to do.
    package enum Action: Sendable, Equatable {
        /// Call the provider; feed its answer to `answered`, then ask again.
        case send(Send)
        /// Record this attempt (a channel passed over, with its reason), then ask again.
        case skip(Attempt)
        /// Hand the work back to the queue, due at `at`; any sidecar may take it then.
        case retry(at: Date, channel: Channel, reason: String)
        /// Sent: the work comes due again at `until` (to fall back on silence) unless a receipt moves it on first.
        case watch(until: Date)
        /// Resumed after it was sent, with nothing (more) to do: stop watching for a receipt.
        case stopWatching
        /// End the communication: `failed` or `cancelled`, with the reason.
        case finish(CommunicationStatus, reason: String)
        /// Nothing to do or to write (sent with nothing to watch, or ended already).
        case done
    }

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
