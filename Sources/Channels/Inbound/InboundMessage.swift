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

    package init(channel: Channel, from: String, text: String, providerMessageID: String, at: Date) {
        self.channel = channel
        self.from = from
        self.text = text
        self.providerMessageID = providerMessageID
        self.at = at
    }
}
