package import CRMModel
package import Foundation
package import Persistence
import Synchronization

/// The channels each client has opted out of, as the store has them, for the check before every
/// send.
///
/// Reading the client's preferences before each attempt is what makes an opt-out count from the
/// moment it is saved; this keeps the read cheap. An entry is fresh for `freshness` after it was read
/// or saved; a save in this process (`preferences.update`, an SMS STOP, an email unsubscribe)
/// replaces it at once. A save by another sidecar sharing the database is seen once the entry is no
/// longer fresh, so `freshness` bounds how late such an opt-out can be noticed.
package final class ConsentCache: Sendable {
    private struct Entry {
        var preferences: ClientPreferences
        var readAt: Date
    }

    private let store: any Store
    private let freshness: TimeInterval
    private let entries = Mutex<[UUID: Entry]>([:])
    /// Entries beyond this are dropped oldest first; a dropped entry costs one read.
    private let capacity: Int

    package init(store: any Store, freshness: TimeInterval = 1, capacity: Int = 10_000) {
        self.store = store
        self.freshness = freshness
        self.capacity = capacity
    }

    /// The client's preferences as stored (the defaults when none are), read again when the
    /// entry is not fresh at `now`.
    package func preferences(of clientID: UUID, at now: Date) async throws(StoreError) -> ClientPreferences {
        let cached = entries.withLock { entries -> ClientPreferences? in
            guard let entry = entries[clientID], now.timeIntervalSince(entry.readAt) < freshness else { return nil }
            return entry.preferences
        }
        if let cached { return cached }
        let stored = try await store.preferences(for: clientID) ?? ClientPreferences(clientID: clientID)
        remember(stored, readAt: now)
        return stored
    }

    /// The channels the client has opted out of.
    package func optedOut(of clientID: UUID, at now: Date) async throws(StoreError) -> Set<Channel> {
        let preferences = try await preferences(of: clientID, at: now)
        return Set(Channel.allCases.filter(preferences.isOptedOut(of:)))
    }

    /// Preferences just read from or saved to the store. A read that raced a save never replaces
    /// the newer preferences: the later `updatedAt` wins.
    package func remember(_ preferences: ClientPreferences, readAt: Date) {
        entries.withLock { entries in
            if let known = entries[preferences.clientID]?.preferences.updatedAt,
                known > (preferences.updatedAt ?? .distantPast)
            {
                return
            }
            if entries.count >= capacity, entries[preferences.clientID] == nil,
                let oldest = entries.min(by: { $0.value.readAt < $1.value.readAt })?.key
            {
                entries[oldest] = nil
            }
            entries[preferences.clientID] = Entry(preferences: preferences, readAt: readAt)
        }
    }
}
