package import Foundation

/// Word from the store that preferences changed elsewhere (another sidecar sharing the database),
/// so what a process remembers of them is out of date.
package enum PreferencesNotice: Sendable, Equatable {
    /// This client's preferences were saved.
    case saved(clientID: UUID)
    /// Notices may have been missed (the subscription was re-established): forget everything.
    case mayHaveMissed
}
