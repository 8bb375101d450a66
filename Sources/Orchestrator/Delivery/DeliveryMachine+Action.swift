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
}
