package import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
package import Logging

/// DB_ENCRYPTION_KEY: the key that wraps every client's data key, and from which the blind-index key
/// is derived. It never touches the database.
///
/// Given as 32 bytes in base64 (what `openssl rand -base64 32` prints), or as a passphrase of at least
/// 32 characters, which is stretched with HKDF-SHA256 (the seed's "32 character" keys work as they are).
package struct MasterKey: Sendable {
    let wrapping: SymmetricKey
    let blindIndex: SymmetricKey
    /// Stored in the database on first use and compared on every start, so a sidecar given another
    /// key refuses to start instead of writing data the others cannot read. Reveals nothing of the key.
    let check: Data
    /// Signs the links in emails (unsubscribe, opens, clicks), so every sidecar sharing the database
    /// accepts the links any of them made.
    package let linkSigning: SymmetricKey

    package init(secret: String) throws(StoreError) {
        let material: SymmetricKey
        if let bytes = Data(base64Encoded: secret), bytes.count == 32 {
            material = SymmetricKey(data: bytes)
        } else if secret.count >= 32 {
            material = SymmetricKey(data: Data(secret.utf8))
        } else {
            throw StoreError(.unavailable, "DB_ENCRYPTION_KEY must be 32 bytes in base64 (openssl rand -base64 32) or a passphrase of at least 32 characters")
        }
        // Separate keys for separate purposes, so a blind index reveals nothing about wrapped keys.
        wrapping = HKDF<SHA256>.deriveKey(inputKeyMaterial: material, info: Data("crm-sidecar key wrapping v1".utf8), outputByteCount: 32)
        blindIndex = HKDF<SHA256>.deriveKey(inputKeyMaterial: material, info: Data("crm-sidecar blind index v1".utf8), outputByteCount: 32)
        check = HKDF<SHA256>.deriveKey(inputKeyMaterial: material, info: Data("crm-sidecar key check v1".utf8), outputByteCount: 16)
            .withUnsafeBytes { Data($0) }
        linkSigning = HKDF<SHA256>.deriveKey(inputKeyMaterial: material, info: Data("crm-sidecar link signing v1".utf8), outputByteCount: 32)
    }

    /// The key of an embedded database without DB_ENCRYPTION_KEY: the key file beside the database,
    /// created on first use with permissions 0600.
    package static func forSQLite(databasePath: String, logger: Logger) throws(StoreError) -> MasterKey {
        let path = databasePath + ".key"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            return try MasterKey(secret: existing.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let generated = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        // Written whole to a private temporary file (0600 from the first byte), then linked into place:
        // link(2) fails if the key exists, so two sidecars starting at once never overwrite each
        // other's key, and a reader never sees a half-written one.
        let temporary = path + ".\(ProcessInfo.processInfo.processIdentifier).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(.unavailable, "cannot create the encryption key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { unlink(temporary) }
        let line = Array((generated + "\n").utf8)
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == line.count, synced else {
            throw StoreError(.unavailable, "cannot write the generated encryption key to \(path)")
        }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST, let existing = try? String(contentsOfFile: path, encoding: .utf8) {
                return try MasterKey(secret: existing.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            throw StoreError(.unavailable, "cannot create the encryption key file \(path): \(String(cString: strerror(errno)))")
        }
        logger.warning(
            "DB_ENCRYPTION_KEY is not set; generated a key and saved it beside the database. Back it up: without it the personal data in the database cannot be read",
            metadata: ["db.key_file": "\(path)"]
        )
        return try MasterKey(secret: generated)
    }
}
