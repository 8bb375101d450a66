package import CRMModel
package import Foundation

/// What a store's erasure did: the answer's counts, the changes to announce, and every
/// communication of the client, whose outbox copies the caller removes.
package struct Forgetting: Sendable {
    package var erasure: Erasure
    /// Communications not yet sent, now cancelled; logged, for the workflow to hear.
    package var cancelled: [StatusChange]
    package var communicationIDs: [UUID]

    package init(erasure: Erasure, cancelled: [StatusChange], communicationIDs: [UUID]) {
        self.erasure = erasure
        self.cancelled = cancelled
        self.communicationIDs = communicationIDs
    }
}
