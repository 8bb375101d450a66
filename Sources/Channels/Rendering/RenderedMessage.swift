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

    package init(subject: String? = nil, html: String? = nil, text: String, missingVariables: [String] = []) {
        self.subject = subject
        self.html = html
        self.text = text
        self.missingVariables = missingVariables
    }
}
