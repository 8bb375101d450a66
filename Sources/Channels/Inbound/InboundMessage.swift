package import CRMModel
package import Foundation

/// A message a client sent us by SMS or WhatsApp.
package struct InboundMessage: Sendable, Equatable {
    package var channel: Channel
    /// The sender in E.164, as the client's contacts are kept.
    package var from: String
    package var text: String
    package var providerMessageID: String
    package var at: Date
    /// A tapped list row or reply button: what was chosen, as we offered it.
    package var selection: Selection?
    /// The provider's id of the message of ours this one answers (WhatsApp's `context.id`), when the
    /// client replied to a particular message.
    package var inReplyTo: String?

    package init(
        channel: Channel, from: String, text: String, providerMessageID: String, at: Date, selection: Selection? = nil,
        inReplyTo: String? = nil
    ) {
        self.channel = channel
        self.from = from
        self.text = text
        self.providerMessageID = providerMessageID
        self.at = at
        self.selection = selection
        self.inReplyTo = inReplyTo
    }
}
