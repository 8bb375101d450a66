import Crypto
import Foundation
package import Logging

/// DB_ENCRYPTION_KEY: the key that wraps every client's data key, and from which the blind-index key
/// is derived. It never touches the database.
///
/// Given as 32 bytes in base64 (what `openssl rand -base64 32` prints), or as a passphrase of at least
/// 32 characters, which is stretched with HKDF-SHA256 (the seed's "32 character" keys work as they are).
package struct MasterKey: Sendable {
    let wrapping: SymmetricKey
    let blindIndex: SymmetricKey

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
    }

    /// The key of an embedded database: DB_ENCRYPTION_KEY when set, otherwise the key file beside the
    /// database, created on first use with permissions 0600.
    package static func forSQLite(secret: String?, databasePath: String, logger: Logger) throws(StoreError) -> MasterKey {
        if let secret { return try MasterKey(secret: secret) }
        let path = databasePath + ".key"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            return try MasterKey(secret: existing.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let generated = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        guard FileManager.default.createFile(atPath: path, contents: Data((generated + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw StoreError(.unavailable, "cannot write the generated encryption key to \(path)")
        }
        logger.warning(
            "DB_ENCRYPTION_KEY is not set; generated a key and saved it beside the database. Back it up: without it the personal data in the database cannot be read",
            metadata: ["db.key_file": "\(path)"]
        )
        return try MasterKey(secret: generated)
    }
}
