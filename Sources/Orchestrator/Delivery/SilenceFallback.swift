package import CRMModel
package import Foundation

/// A rule of the policy: messages of these urgencies (and message types, or all) that have no
/// `delivered` receipt (for WhatsApp, `read`) within `timeout` of being sent go out again on the next
/// channel. A receipt that arrives later is still recorded; nothing more is sent.
package struct SilenceFallback: Sendable, Equatable {
    package var urgencies: Set<Urgency>
    /// nil: every message type.
    package var messageTypes: Set<MessageType>?
    package var timeout: TimeInterval

    package init(urgencies: Set<Urgency>, messageTypes: Set<MessageType>? = nil, timeout: TimeInterval) {
        self.urgencies = urgencies
        self.messageTypes = messageTypes
        self.timeout = timeout
    }
}
