import CRMModel
import Foundation

/// Whether and how a stored communication moves to a new status; the rule every backend applies
/// inside its own transaction, after reading the row it is about to change.
struct StatusMove {
    /// `channel_used` after the move.
    var channelUsed: String?
    var change: StatusChange
    /// Whether the communication leaves the work queue: it has been sent, or it ended. A WhatsApp
    /// message merely `delivered` stays, if it is watched for a `read` receipt (fallback on silence).
    var endsWork: Bool {
        !change.status.awaitsSending && !(change.status == .delivered && channelUsed == Channel.whatsapp.rawValue)
    }

    /// nil when the move would not go forward (a late, repeated or backward receipt).
    static func plan(
        id: String, planID: String, clientID: String, messageType: String, current: String, channelUsed: String?,
        to status: CommunicationStatus, channel: Channel?, attempt: Attempt?, detail: String?, providerMessageID: String? = nil, at: Date
    ) throws(StoreError) -> StatusMove? {
        guard let currentStatus = CommunicationStatus(rawValue: current),
            let communicationID = UUID(hexString: id), let plan = UUID(hexString: planID), let client = UUID(hexString: clientID)
        else {
            throw StoreError(.corruptRecord, "communication \(id) has a field this version cannot read")
        }
        // Sent again on another channel is news (a fallback on silence), not a repeat; so is a
        // WhatsApp message delivered but never read that went out again on another channel.
        let unanswered = currentStatus == .sent || (currentStatus == .delivered && channelUsed == Channel.whatsapp.rawValue)
        let fallback = unanswered && status == .sent && channel != nil && channel?.rawValue != channelUsed
        guard currentStatus.canMove(to: status) || fallback else { return nil }
        // The channel that got the message through is the one the caller cares about; a later
        // receipt without a channel keeps it.
        return StatusMove(
            channelUsed: status == .sent ? channel?.rawValue : channelUsed,
            change: StatusChange(
                communicationID: communicationID, planID: plan, clientID: client, status: status,
                previousStatus: currentStatus, channel: channel, attempt: attempt?.number,
                // An end says why: the attempt's error, or the reason given for the move.
                providerMessageID: attempt?.providerMessageID ?? providerMessageID, error: attempt?.error ?? (status.isTerminal ? detail : nil), at: at,
                messageType: MessageType(rawValue: messageType)
            )
        )
    }
}
