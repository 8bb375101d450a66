package import Foundation
package import Persistence

/// How this process holds work in the store's queue: who it is, and for how long a claim lasts.
///
/// The duration must outlast one provider call with its timeout: a lease that runs out while a
/// send is still under way lets another sidecar send the same message.
package struct WorkLeasing: Sendable {
    /// Unique per process run, so a restarted sidecar does not mistake its predecessor's leases
    /// for its own.
    package var owner: String
    package var duration: Duration

    package init(owner: String = WorkLeasing.processOwner(), duration: Duration = .seconds(60)) {
        self.owner = owner
        self.duration = duration
    }

    package func lease(from now: Date) -> Lease {
        let (seconds, attoseconds) = duration.components
        return Lease(owner: owner, expiresAt: now.addingTimeInterval(Double(seconds) + Double(attoseconds) / 1e18))
    }

    /// host:pid:random, readable in the database when an operator wonders who holds what.
    package static func processOwner() -> String {
        let host = ProcessInfo.processInfo.hostName
        let pid = ProcessInfo.processInfo.processIdentifier
        return "\(host):\(pid):\(UUID().uuidString.prefix(8).lowercased())"
    }
}
