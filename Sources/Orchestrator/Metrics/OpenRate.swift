package import CRMModel
package import Foundation
import Synchronization

/// `crm_open_rate`: of the emails the mail relay accepted since this sidecar started, the share
/// opened (or clicked) since, per message type, from the status changes this sidecar announces.
///
/// Kept in process because the store has no cheap aggregate for it: the rate restarts with the
/// sidecar, and with several sidecars each reports on the communications it accepted. Email has no
/// delivery receipt, so acceptance (`sent` on email) stands for "delivered". An open of an email
/// accepted before this sidecar started is left out (the caller says when it was sent), else the
/// rate would top 1 after a restart.
package final class OpenRate: Sendable {
    private struct Tally {
        var accepted = 0
        var opened = 0
    }

    private let startedAt: Date
    private let tallies = Mutex<[MessageType: Tally]>([:])

    package init(startedAt: Date = Date()) {
        self.startedAt = startedAt
    }

    /// Whether counting `change` needs to know when the email was accepted (`count(_:of:sentAt:)`).
    package static func needsSentTime(_ change: StatusChange) -> Bool {
        isFirstOpen(change)
    }

    /// Counts `change` of a communication of `messageType`; the new rate of that type if it moved.
    /// `sentAt`: when the email was accepted, for a first open; nil if unknown (the open is not counted).
    package func count(_ change: StatusChange, of messageType: MessageType, sentAt: Date? = nil) -> Double? {
        let accepted = change.channel == .email && change.status == .sent
        let opened = Self.isFirstOpen(change) && sentAt.map { $0 >= startedAt } == true
        guard accepted || opened else { return nil }
        return tallies.withLock { tallies in
            var tally = tallies[messageType, default: Tally()]
            if accepted { tally.accepted += 1 }
            if opened { tally.opened += 1 }
            tallies[messageType] = tally
            // An open can be announced before its own `sent` is counted (a fast reader); never above 1.
            return tally.accepted == 0 ? 0 : min(1, Double(tally.opened) / Double(tally.accepted))
        }
    }

    /// The first change of an email to opened-or-beyond: `clicked` without a pixel fetch counts too,
    /// and `clicked` after `opened` does not count again.
    private static func isFirstOpen(_ change: StatusChange) -> Bool {
        let openedOrBeyond: Set<CommunicationStatus> = [.opened, .clicked]
        return change.channel == .email && openedOrBeyond.contains(change.status)
            && !(change.previousStatus.map(openedOrBeyond.contains) ?? false)
    }
}
