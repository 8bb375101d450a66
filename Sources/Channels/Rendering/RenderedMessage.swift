/// A template rendered for one channel.
package struct RenderedMessage: Sendable, Equatable {
    /// Email only.
    package var subject: String?
    /// Email only.
    package var html: String?
    /// The whole message for SMS and WhatsApp; the plain-text alternative for email.
    package var text: String
    /// Variables the template read that the context did not have; they rendered as empty.
    package var missingVariables: [String]
    /// The choices the message offers (`ChoiceOption.options`), numbered in `text`.
    package var options: [ChoiceOption]
    /// WhatsApp only, for a message whose options can go as an interactive list or buttons: the text
    /// rendered to sit above them (the template with `interactive` set), without the numbered list.
    package var interactiveText: String?

    package init(
        subject: String? = nil, html: String? = nil, text: String, missingVariables: [String] = [], options: [ChoiceOption] = [],
        interactiveText: String? = nil
    ) {
        self.subject = subject
        self.html = html
        self.text = text
        self.missingVariables = missingVariables
        self.options = options
        self.interactiveText = interactiveText
    }
}
