import Foundation
import Synchronization

/// Clients' data keys, unwrapped, each beside the wrapped form it was unwrapped from.
///
/// Why: SQLite has one writer, and an accept's transaction unwrapped its client's key (AES-GCM
/// under the master key) and sealed its rows with it while every other write waited. With the key
/// at hand before the write begins, the rows are sealed beside the writer instead, and the
/// transaction only checks that the client's stored wrapped key is still the one the rows were
/// sealed under. An erasure since (the key shredded) or a rotation (the key rewrapped)
/// makes it differ, and the write seals again under the key it finds: what is stored never depends
/// on this cache being current.
///
/// Inside a write, `key(for:wrapped:)` spares the unwrap when the stored wrapped key is the one
/// cached. Bounded: past `capacity` clients an arbitrary entry makes room; a miss costs one unwrap.
///
/// The trade: unwrapped data keys of recent clients stay in this process's memory for its life,
/// where before each lived for one write. An erasure here drops its client's entry; the master
/// key, which unwraps them all, is in memory anyway.
final class ClientKeyCache: Sendable {
    struct Entry: Sendable {
        let wrapped: Data
        let key: ClientKey
    }

    /// The clients a workflow writes to within minutes, with room: about 1 MB of entries.
    static let capacity = 4_096

    private let entries = Mutex<[String: Entry]>([:])

    func entry(for clientID: String) -> Entry? {
        entries.withLock { $0[clientID] }
    }

    /// The cached key of `clientID` if it was unwrapped from `wrapped`.
    func key(for clientID: String, wrapped: Data) -> ClientKey? {
        entries.withLock { entries in
            guard let entry = entries[clientID], entry.wrapped == wrapped else { return nil }
            return entry.key
        }
    }

    func remember(_ key: ClientKey, wrapped: Data, for clientID: String) {
        entries.withLock { entries in
            if entries[clientID] == nil, entries.count >= Self.capacity {
                entries.remove(at: entries.startIndex)
            }
            entries[clientID] = Entry(wrapped: wrapped, key: key)
        }
    }

    /// After an erasure: the shredded key is not kept in memory either.
    func forget(_ clientID: String) {
        _ = entries.withLock { $0.removeValue(forKey: clientID) }
    }
}
