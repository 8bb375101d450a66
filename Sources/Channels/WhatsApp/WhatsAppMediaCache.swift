import Crypto
package import CRMModel
package import Foundation
import Synchronization

/// Media ids the Cloud API gave for uploaded attachments, so a retry, a fallback back to WhatsApp or
/// the same file sent to many clients uploads it once. Meta keeps uploaded media for 30 days; an id
/// is used for a day less, so it never expires between our check and Meta's.
///
/// It also remembers which files went to which communication, so an attempt that failed after some
/// of its files were accepted does not send them again when it is retried here. (Another sidecar,
/// or this one after a restart, would: those duplicates are the at-least-once price.)
package final class WhatsAppMediaCache: Sendable {
    private struct Entry {
        var id: String
        var expiresAt: Date
    }

    static let lifetime: TimeInterval = 29 * 24 * 3600
    private let capacity: Int
    private let entries = Mutex<[Data: Entry]>([:])
    private let sent = Mutex<[String]>([])

    package init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    /// The same bytes, type and name are the same upload.
    static func key(of attachment: Attachment) -> Data {
        var hash = SHA256()
        hash.update(data: Data(attachment.contentType.utf8))
        hash.update(data: [0])
        hash.update(data: Data(attachment.filename.utf8))
        hash.update(data: [0])
        hash.update(data: attachment.data)
        return Data(hash.finalize())
    }

    func id(of attachment: Attachment, at now: Date) -> String? {
        let key = Self.key(of: attachment)
        return entries.withLock { entries in
            guard let entry = entries[key], entry.expiresAt > now else { return nil }
            return entry.id
        }
    }

    func remember(_ id: String, for attachment: Attachment, at now: Date) {
        let key = Self.key(of: attachment)
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expiresAt > now }
                // Still full of live ids: the one that expires soonest goes.
                if entries.count >= capacity, let oldest = entries.min(by: { $0.value.expiresAt < $1.value.expiresAt })?.key {
                    entries[oldest] = nil
                }
            }
            entries[key] = Entry(id: id, expiresAt: now.addingTimeInterval(Self.lifetime))
        }
    }

    func forget(_ attachment: Attachment) {
        let key = Self.key(of: attachment)
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }

    func wasSent(_ key: String) -> Bool {
        sent.withLock { $0.contains(key) }
    }

    /// The last `capacity` files sent: enough for the retries in progress.
    func rememberSent(_ key: String) {
        sent.withLock { sent in
            sent.append(key)
            if sent.count > capacity { sent.removeFirst(sent.count - capacity) }
        }
    }
}
