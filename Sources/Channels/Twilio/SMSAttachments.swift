package import Foundation

/// How an SMS carries a communication's attachments, which it cannot hold: as signed, expiring links
/// to the side port in the text, or (`mms`, for numbers that can send MMS) as media Twilio fetches
/// from those same links. The policy's `sms_attachments` section.
package struct SMSAttachments: Sendable, Equatable {
    package var mms: Bool
    /// How long a link works after the message goes.
    package var linkLifetime: TimeInterval

    /// Twilio takes at most 10 `MediaUrl`s a message, 5 MB in all
    /// (https://www.twilio.com/docs/messaging/guides/accepted-mime-types).
    static let maxMedia = 10
    static let maxMediaBytes = 5 * 1024 * 1024

    package init(mms: Bool = false, linkLifetime: TimeInterval = 7 * 24 * 3600) {
        self.mms = mms
        self.linkLifetime = linkLifetime
    }
}
