import Crypto
import Foundation

/// One client's data key, unwrapped, with the cipher that uses it.
struct ClientKey: Sendable {
    let cipher: FieldCipher
    let key: SymmetricKey

    /// Seals a value of `table.column` in the row `row`.
    func seal(_ plaintext: Data, _ field: String, row: String) throws(StoreError) -> Data {
        try cipher.seal(plaintext, with: key, context: "\(field):\(row)")
    }

    func open(_ sealed: Data, _ field: String, row: String) throws(StoreError) -> Data {
        try cipher.open(sealed, with: key, context: "\(field):\(row)")
    }

    /// The client's key from its stored wrapped form.
    static func unwrap(_ wrapped: Data?, for clientID: String, cipher: FieldCipher) throws(StoreError) -> ClientKey? {
        guard let wrapped else { return nil }
        return ClientKey(cipher: cipher, key: try cipher.unwrap(wrapped, for: clientID))
    }
}
