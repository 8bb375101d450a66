import Foundation

/// Writes an export so that nobody else can read it, nobody ever reads half of it, and nothing that
/// exists is replaced (a mistyped path must not overwrite the database or `.env`): a temporary file
/// beside the target, created 0600, then linked into place, which fails if the target exists.
enum ExportFile {
    struct Failure: Error {
        /// Why, in words; never the file's content.
        var reason: String
    }

    static func write(_ data: Data, to url: URL) throws(Failure) {
        let folder = url.deletingLastPathComponent()
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw Failure(reason: "its folder does not exist")
        }
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.lowercased()).partial")
        // Created with the mode, not chmod-ed after: there is no moment when it is readable by others.
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw Failure(reason: String(cString: strerror(errno))) }
        let written = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let count = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count <= 0 { return false }
                offset += count
            }
            return fsync(descriptor) == 0
        }
        let failure = written ? nil : String(cString: strerror(errno))
        close(descriptor)
        if let failure {
            unlink(temporary.path)
            throw Failure(reason: failure)
        }
        defer { unlink(temporary.path) }
        guard link(temporary.path, url.path) == 0 else {
            throw Failure(reason: errno == EEXIST ? "a file is already there; exports never replace one" : String(cString: strerror(errno)))
        }
    }
}
