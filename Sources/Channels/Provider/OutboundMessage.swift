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
    /// Email only: the display name in `To:`.
    package var recipientName: String?
    /// Files: attached to an email, uploaded to WhatsApp, linked from an SMS.
    package var attachments: [Attachment]
    /// Where each of `attachments` is stored, in the same order.
    package var attachmentOrigins: [AttachmentOrigin]
    /// The client's language (BCP 47), for providers whose templates are per language (WhatsApp).
    package var language: String
    /// WhatsApp only: the client wrote to us within the last 24 hours, so free-form text may be sent;
    /// outside that window only an approved template may.
    package var replyWindowOpen: Bool
    /// The context the message was rendered from, for providers that fill their own templates
    /// (WhatsApp's approved templates take the values as parameters).
    package var context: [String: JSONValue]

    package init(
        communicationID: UUID, attempt: Int, messageType: MessageType, channel: Channel, to: String, content: RenderedMessage,
        recipientName: String? = nil, attachments: [Attachment] = [], attachmentOrigins: [AttachmentOrigin] = [], language: String = "en", replyWindowOpen: Bool = false,
        context: [String: JSONValue] = [:]
    ) {
        self.communicationID = communicationID
        self.attempt = attempt
        self.messageType = messageType
        self.channel = channel
        self.to = to
        self.content = content
        self.recipientName = recipientName
        self.attachments = attachments
        self.attachmentOrigins = attachmentOrigins
        self.language = language
        self.replyWindowOpen = replyWindowOpen
        self.context = context
    }
}
