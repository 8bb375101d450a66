package import Foundation

/// A sidecar's exclusive, expiring hold on a communication's due work.
///
/// Whoever holds the lease is the only one sending the communication; if it dies, the lease runs out
/// and another sidecar (or the same one restarted) claims the work again.
package struct Lease: Sendable, Equatable {
    /// The holding process; unique per process run.
    package var owner: String
    package var expiresAt: Date

    package init(owner: String, expiresAt: Date) {
        self.owner = owner
        self.expiresAt = expiresAt
    }
}
