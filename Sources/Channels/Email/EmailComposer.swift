package import CRMModel
import Foundation

/// Turns an outbound email into its MIME form, the same for every email provider (SMTP and the
/// outbox): the sender, the recipient's name, the attachments and the unsubscribe link.
package struct EmailComposer: Sendable {
    package var sender: EmailSender
    /// Nil without PUBLIC_BASE_URL: no List-Unsubscribe header then.
    package var links: EmailLinks?

    package init(sender: EmailSender, links: EmailLinks?) {
        self.sender = sender
        self.links = links
    }

    package func compose(_ message: OutboundMessage) -> MIMEMessage {
        var content = message.content
        // Signed once: the text footer, the HTML footer and the List-Unsubscribe header carry the same link.
        let unsubscribeURL = links?.unsubscribeURL(for: message.communicationID)
        let footer = EmailFooter(postalAddress: sender.postalAddress, unsubscribeURL: unsubscribeURL)
        content.text = footer.appended(toText: content.text)
        if let html = content.html {
            if let links, let unsubscribeURL {
                content.html = EmailTracking(
                    links: links, communicationID: message.communicationID, unsubscribeURL: unsubscribeURL, postalAddress: sender.postalAddress
                ).apply(to: html)
            } else {
                content.html = footer.appended(toHTML: html)
            }
        }
        return MIMEMessage(
            from: sender, to: message.to, toName: message.recipientName, communicationID: message.communicationID,
            content: content, attachments: message.attachments,
            unsubscribeURL: unsubscribeURL
        )
    }

    /// The message `crm-sidecar check smtp --to` sends.
    package func testMessage(to address: String) -> MIMEMessage {
        MIMEMessage(
            from: sender, to: address, communicationID: UUID(),
            content: RenderedMessage(
                subject: "crm-sidecar SMTP check",
                text: "This message was sent by `crm-sidecar check smtp` to confirm the SMTP settings work. No action is needed."
            )
        )
    }
}
