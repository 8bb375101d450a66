package import Foundation

/// Where an outbound message's attachment is stored: its communication (the message's own, or a
/// digest rider's) and its position there. Links to it name these.
package struct AttachmentOrigin: Sendable, Equatable {
    package var communicationID: UUID
    package var position: Int

    package init(communicationID: UUID, position: Int) {
        self.communicationID = communicationID
        self.position = position
    }
}
