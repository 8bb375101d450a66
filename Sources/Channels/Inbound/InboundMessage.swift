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
    /// A tapped row of our list or one of our reply buttons: what was chosen, as we offered it. The
    /// message is a choice, whatever its title says.
    package var selection: Selection?
    /// A tapped quick-reply button of an approved template (its payload as the id): the text keeps
    /// its meaning, so an "Unsubscribe" button still opts the client out.
    package var quickReply: Selection?
    /// The provider's id of the message of ours this one answers (WhatsApp's `context.id`), when the
    /// client replied to a particular message.
    package var inReplyTo: String?

    package init(
        channel: Channel, from: String, text: String, providerMessageID: String, at: Date, selection: Selection? = nil,
        quickReply: Selection? = nil, inReplyTo: String? = nil
    ) {
        self.channel = channel
        self.from = from
        self.text = text
        self.providerMessageID = providerMessageID
        self.at = at
        self.selection = selection
        self.quickReply = quickReply
        self.inReplyTo = inReplyTo
    }
}
