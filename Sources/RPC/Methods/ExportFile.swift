import CRMModel
import Crypto
import Foundation

/// Writes an export so that nobody else can read it, nobody ever reads half of it, and nothing that
/// exists is replaced (a mistyped path must not overwrite the database or `.env`): a temporary file
/// beside the target, created 0600, then linked into place, which fails if the target exists.
///
/// Written a chunk at a time (`append`), so an export of a million rows never sits in memory; its
/// SHA-256 is taken on the way.
final class ExportFile {
    struct Failure: Error {
        /// Why, in words; never the file's content.
        var reason: String
    }

    private let target: URL
    private let temporary: URL
    private let descriptor: Int32
    private var hash = SHA256()
    private(set) var bytes = 0
    private var failure: String?
    private var finished = false

    /// Creates the temporary file beside `url`.
    init(creating url: URL) throws(Failure) {
        let folder = url.deletingLastPathComponent()
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw Failure(reason: "its folder does not exist")
        }
        guard !FileManager.default.fileExists(atPath: url.path) else {
            throw Failure(reason: "a file is already there; exports never replace one")
        }
        target = url
        temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().canonicalString).partial")
        // Created with the mode, not chmod-ed after: there is no moment when it is readable by others.
        descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw Failure(reason: String(cString: strerror(errno))) }
    }

    deinit {
        // Never finished (an error on the way): nothing half-written stays behind.
        if descriptor >= 0, !finished {
            close(descriptor)
            unlink(temporary.path)
        }
    }

    /// Appends `data`; false once a write has failed (`finish` then says why).
    @discardableResult
    func append(_ data: Data) -> Bool {
        guard failure == nil else { return false }
        let written = data.withUnsafeBytes { buffer -> Bool in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                let count = Foundation.write(descriptor, base + offset, buffer.count - offset)
                if count <= 0 { return false }
                offset += count
            }
            return true
        }
        guard written else {
            failure = String(cString: strerror(errno))
            return false
        }
        hash.update(data: data)
        bytes += data.count
        return true
    }

    /// Makes the file durable and puts it in place; its SHA-256 in hex.
    func finish() throws(Failure) -> String {
        if let failure { throw Failure(reason: failure) }
        let synced = fsync(descriptor) == 0
        let reason = synced ? nil : String(cString: strerror(errno))
        close(descriptor)
        finished = true
        defer { unlink(temporary.path) }
        if let reason { throw Failure(reason: reason) }
        guard link(temporary.path, target.path) == 0 else {
            throw Failure(reason: errno == EEXIST ? "a file is already there; exports never replace one" : String(cString: strerror(errno)))
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// `data`'s SHA-256 in hex.
    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// Writes `data` to `url` in one go; its SHA-256 in hex.
    @discardableResult
    static func write(_ data: Data, to url: URL) throws(Failure) -> String {
        let file = try ExportFile(creating: url)
        file.append(data)
        return try file.finish()
    }
}
