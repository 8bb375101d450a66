package import CRMModel
package import Foundation
package import Persistence
import Synchronization

/// The channels each client has opted out of, as the store has them, for the check before every
/// send.
///
/// Reading the client's preferences before each attempt is what makes an opt-out count from the
/// moment it is saved; this keeps the read cheap. A save in this process (`preferences.update`, an
/// SMS STOP, an email unsubscribe) replaces the entry at once; a save by another sidecar sharing a
/// PostgreSQL database removes it as the notice arrives (`follow(_:)`). An entry is kept at most
/// `freshness` after it was read, which bounds how late a save is noticed where no notice comes
/// (several processes on one SQLite file, or a notice lost while its subscription was down).
package final class ConsentCache: Sendable {
    private struct Entry {
        var preferences: ClientPreferences
        var readAt: Date
    }

    private struct State {
        var entries: [UUID: Entry] = [:]
        /// Counts what was forgotten: a read that began before a notice must not put back what the
        /// notice removed.
        var generation: UInt64 = 0
    }

    private let store: any Store
    private let freshness: TimeInterval
    private let state = Mutex(State())
    /// Entries beyond this are dropped oldest first; a dropped entry costs one read.
    private let capacity: Int
    /// The preferences of a client who has stored none (`Policy.defaultPreferences`).
    package let defaults: @Sendable (UUID) -> ClientPreferences

    /// `freshness`: seconds an entry is used after it was read; short where no notices come.
    package init(
        store: any Store, freshness: TimeInterval = 1, capacity: Int = 10_000,
        defaults: @escaping @Sendable (UUID) -> ClientPreferences = { ClientPreferences(clientID: $0) }
    ) {
        self.store = store
        self.defaults = defaults
        self.freshness = freshness
        self.capacity = capacity
    }

    /// The client's preferences as stored (the defaults when none are), read again when the
    /// entry is not fresh at `now`.
    package func preferences(of clientID: UUID, at now: Date) async throws(StoreError) -> ClientPreferences {
        let (cached, generation) = state.withLock { state -> (ClientPreferences?, UInt64) in
            guard let entry = state.entries[clientID], now.timeIntervalSince(entry.readAt) < freshness else { return (nil, state.generation) }
            return (entry.preferences, state.generation)
        }
        if let cached { return cached }
        let stored = try await store.preferences(for: clientID) ?? defaults(clientID)
        remember(stored, readAt: now, unlessForgottenSince: generation)
        return stored
    }

    /// The channels the client has opted out of.
    package func optedOut(of clientID: UUID, at now: Date) async throws(StoreError) -> Set<Channel> {
        let preferences = try await preferences(of: clientID, at: now)
        return Set(Channel.allCases.filter(preferences.isOptedOut(of:)))
    }

    /// Preferences just saved to the store by this process, or read from it. A read that raced a
    /// save never replaces the newer preferences: the later `updatedAt` wins.
    package func remember(_ preferences: ClientPreferences, readAt: Date) {
        remember(preferences, readAt: readAt, unlessForgottenSince: nil)
    }

    /// Forgets what `notice` says is out of date.
    package func follow(_ notice: PreferencesNotice) {
        state.withLock { state in
            state.generation &+= 1
            switch notice {
            case .saved(let clientID): state.entries[clientID] = nil
            case .mayHaveMissed: state.entries.removeAll()
            }
        }
    }

    /// Forgets what other processes' saves put out of date, as the store hears of them, until it closes.
    package func followNotices() async {
        for await notice in store.preferencesNotices() {
            follow(notice)
        }
    }

    private func remember(_ preferences: ClientPreferences, readAt: Date, unlessForgottenSince generation: UInt64?) {
        state.withLock { state in
            if let generation, generation != state.generation { return }
            if let known = state.entries[preferences.clientID]?.preferences.updatedAt,
                known > (preferences.updatedAt ?? .distantPast)
            {
                return
            }
            if state.entries.count >= capacity, state.entries[preferences.clientID] == nil,
                let oldest = state.entries.min(by: { $0.value.readAt < $1.value.readAt })?.key
            {
                state.entries[oldest] = nil
            }
            state.entries[preferences.clientID] = Entry(preferences: preferences, readAt: readAt)
        }
    }
}
