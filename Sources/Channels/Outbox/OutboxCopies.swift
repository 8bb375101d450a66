import CRMModel
package import Foundation

/// The outbox folder's copies of messages, which hold their text and addresses in the clear: an
/// erasure removes the client's.
package struct OutboxCopies: Sendable {
    package let directory: URL

    package init(directory: URL) {
        self.directory = directory
    }

    /// Removes every copy of the communications `ids` (any channel, any attempt); how many it removed.
    package func remove(_ ids: [UUID]) -> Int {
        let prefixes = Set(ids.map { $0.canonicalString })
        guard !prefixes.isEmpty else { return 0 }
        var removed = 0
        let files = FileManager.default
        for channel in ["email", "sms", "whatsapp"] {
            let folder = directory.appendingPathComponent(channel, isDirectory: true)
            guard let names = try? files.contentsOfDirectory(atPath: folder.path) else { continue }
            // Names are `<communication id>-<attempt>.<eml|json>`.
            for name in names where prefixes.contains(String(name.prefix(36))) && name.dropFirst(36).first == "-" {
                if (try? files.removeItem(at: folder.appendingPathComponent(name))) != nil { removed += 1 }
            }
        }
        return removed
    }
}
