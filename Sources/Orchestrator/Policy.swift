package import CRMModel

/// The rules the strategy follows. The defaults are the seed's own policy (shared/DESIGN.md,
/// "Defaults taken from the seed's implementation").
package struct Policy: Sendable, Equatable {
    /// Channel order by urgency, first to last.
    package var channelOrder: [Urgency: [Channel]]
    /// Message types whose own channel goes first, whatever the urgency.
    package var messageTypeFirstChannel: [MessageType: Channel]
    package var basePriority: [Urgency: Int]
    package var priorityBoost: [MessageType: Int]

    package init(
        channelOrder: [Urgency: [Channel]],
        messageTypeFirstChannel: [MessageType: Channel],
        basePriority: [Urgency: Int],
        priorityBoost: [MessageType: Int]
    ) {
        self.channelOrder = channelOrder
        self.messageTypeFirstChannel = messageTypeFirstChannel
        self.basePriority = basePriority
        self.priorityBoost = priorityBoost
    }

    package static let seed = Policy(
        channelOrder: [
            .critical: [.sms, .whatsapp, .email],
            .high: [.whatsapp, .email, .sms],
            .normal: [.email, .whatsapp, .sms],
            .low: [.email, .whatsapp, .sms],
        ],
        messageTypeFirstChannel: [
            .budgetSummary: .email,
            .vendorOptions: .email,
            .blueprintDelivery: .email,
            .selectionConfirmation: .sms,
            .reminder: .sms,
        ],
        basePriority: [.critical: 10, .high: 7, .normal: 5, .low: 2],
        priorityBoost: [.errorNotification: 2, .blueprintDelivery: 1]
    )
}
