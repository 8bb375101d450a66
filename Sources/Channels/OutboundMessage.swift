package import CRMModel
package import Foundation

/// A rendered message on its way to one address on one channel.
package struct OutboundMessage: Sendable, Equatable {
    package var communicationID: UUID
    package var attempt: Int
    package var messageType: MessageType
    package var channel: Channel
    /// The address on `channel`: a mailbox for email, an E.164 number otherwise.
    package var to: String
    package var content: RenderedMessage

    package init(
        communicationID: UUID, attempt: Int, messageType: MessageType, channel: Channel, to: String, content: RenderedMessage
    ) {
        self.communicationID = communicationID
        self.attempt = attempt
        self.messageType = messageType
        self.channel = channel
        self.to = to
        self.content = content
    }
}
