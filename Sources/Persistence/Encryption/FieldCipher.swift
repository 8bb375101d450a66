import Crypto
package import Foundation

/// Encryption at rest, the same bytes on every backend (envelope encryption).
///
/// Each client has a random 256-bit data key, stored only wrapped (AES-GCM) by the master key.
/// Personal fields are sealed with AES-GCM under the client's data key. A sealed value is
/// `0x01 || nonce (12) || ciphertext || tag (16)`; the authenticated data names the field and the row
/// (`communications.recipient:<id>`), so a value copied to another row or column does not open.
/// Deleting a client's wrapped key makes everything sealed under it unreadable (crypto-shredding).
///
/// During a key rotation (DB_ENCRYPTION_KEY_PREVIOUS set) client keys wrapped by either master key
/// open, blind indexes are looked up under both, and the database may still record the previous
/// key; everything written is wrapped and indexed under the current one.
package struct FieldCipher: Sendable {
    private static let version: UInt8 = 1
    /// What sealing adds to a value: the version byte, the nonce and the tag (AES-GCM adds nothing else).
    static let overhead = 1 + 12 + 16
    private let master: MasterKey
    private let previous: MasterKey?

    package init(master: MasterKey, previous: MasterKey? = nil) {
        self.master = master
        self.previous = previous
    }

    /// A new data key for `clientID`, and its wrapped form to store.
    func newDataKey(for clientID: String) throws(StoreError) -> (key: SymmetricKey, wrapped: Data) {
        let key = SymmetricKey(size: .bits256)
        let wrapped = try seal(key.withUnsafeBytes { Data($0) }, with: master.wrapping, context: "client_keys:\(clientID)")
        return (key, wrapped)
    }

    func unwrap(_ wrapped: Data, for clientID: String) throws(StoreError) -> SymmetricKey {
        do {
            return SymmetricKey(data: try open(wrapped, with: master.wrapping, context: "client_keys:\(clientID)"))
        } catch {
            guard let previous else { throw error }
            return SymmetricKey(data: try open(wrapped, with: previous.wrapping, context: "client_keys:\(clientID)"))
        }
    }

    /// The client key wrapped under the current master key, when it is still wrapped under the
    /// previous one; nil when there is nothing to do.
    func rewrap(_ wrapped: Data, for clientID: String) throws(StoreError) -> Data? {
        let context = "client_keys:\(clientID)"
        if (try? open(wrapped, with: master.wrapping, context: context)) != nil { return nil }
        guard let previous else { throw StoreError(.wrongKey, "client key \(clientID) is wrapped under neither DB_ENCRYPTION_KEY nor DB_ENCRYPTION_KEY_PREVIOUS") }
        return try seal(try open(wrapped, with: previous.wrapping, context: context), with: master.wrapping, context: context)
    }

    /// Whether a rotation is under way here (a previous key was given).
    var isRotating: Bool { previous != nil }

    func seal(_ plaintext: Data, with key: SymmetricKey, context: String) throws(StoreError) -> Data {
        do {
            let box = try AES.GCM.seal(plaintext, using: key, authenticating: Data(context.utf8))
            // `combined` is nil only for nonces of a size other than 12 bytes, which `seal` never makes.
            guard let combined = box.combined else { throw StoreError(.corruptRecord, "cannot encrypt \(context)") }
            return Data([Self.version]) + combined
        } catch {
            throw StoreError(.corruptRecord, "cannot encrypt \(context)")
        }
    }

    func open(_ sealed: Data, with key: SymmetricKey, context: String) throws(StoreError) -> Data {
        guard sealed.first == Self.version, sealed.count >= 1 + 12 + 16 else {
            throw StoreError(.corruptRecord, "\(context) is not in a format this version can read")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
            return try AES.GCM.open(box, using: key, authenticating: Data(context.utf8))
        } catch {
            throw StoreError(.corruptRecord, "\(context) does not decrypt: the key is wrong or the value was altered")
        }
    }

    /// What the database records of the master key, to recognise it (`MasterKey.check`).
    var keyCheck: Data { master.check }

    /// Whether this cipher may use a database whose record of the master key is `storedCheck` (nil:
    /// none yet) and whose rotation under way, if any, goes to the key checked by `rotatingTo`.
    ///
    /// A database still under the previous key accepts a sidecar rotating away from it only to one
    /// new key: the first such sidecar records its key as the rotation's target (the check this
    /// returns, to store), and one given any other new key is refused, so no sidecar writes under
    /// a key the others will never have.
    func verify(storedCheck: Data?, rotatingTo: Data?) throws(StoreError) -> Data? {
        guard let storedCheck, storedCheck != master.check else { return nil }
        if let previous, storedCheck == previous.check {
            guard let rotatingTo else { return master.check }
            guard rotatingTo == master.check else {
                throw StoreError(
                    .wrongKey,
                    "a rotation to another DB_ENCRYPTION_KEY is under way on this database; give every sidecar the same new key"
                )
            }
            return nil
        }
        try verify(storedCheck: storedCheck)
        return nil
    }

    /// Whether the database's record of the master key (nil: none yet) is this key's, or during a
    /// rotation the previous key's.
    func verify(storedCheck: Data?) throws(StoreError) {
        if let storedCheck, storedCheck != master.check, storedCheck != previous?.check {
            throw StoreError(
                .wrongKey,
                "DB_ENCRYPTION_KEY is not the key this database was written with; use that key (for SQLite, the <database>.key file beside it)"
            )
        }
    }

    /// A keyed hash of an address, for finding a client by email or phone without storing either in
    /// the clear. Email addresses are compared without regard to case.
    package func blindIndex(_ address: String) -> Data {
        Self.blindIndex(address, under: master)
    }

    /// Every index `address` may be stored under: the current key's, and during a rotation the
    /// previous key's (rows not yet re-indexed).
    func blindIndexes(_ address: String) -> [Data] {
        [blindIndex(address)] + (previous.map { [Self.blindIndex(address, under: $0)] } ?? [])
    }

    private static func blindIndex(_ address: String, under key: MasterKey) -> Data {
        let normalized = address.contains("@") ? address.lowercased() : address
        return Data(HMAC<SHA256>.authenticationCode(for: Data(normalized.utf8), using: key.blindIndex))
    }
}
