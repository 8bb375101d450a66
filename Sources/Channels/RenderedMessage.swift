/// A template rendered for one channel.
package struct RenderedMessage: Sendable, Equatable {
    /// Email only.
    package var subject: String?
    /// Email only.
    package var html: String?
    /// The whole message for SMS and WhatsApp; the plain-text alternative for email.
    package var text: String

    package init(subject: String? = nil, html: String? = nil, text: String) {
        self.subject = subject
        self.html = html
        self.text = text
    }
}
