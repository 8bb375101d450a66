package import Crypto
package import Foundation

/// Meta's `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body with the app secret.
/// Checked over the bytes as they arrived, before anything parses them.
package struct WhatsAppSignature: Sendable {
    private let key: SymmetricKey

    package init(appSecret: String) {
        key = SymmetricKey(data: Data(appSecret.utf8))
    }

    package func isValid(header: String?, body: Data) -> Bool {
        guard let header, header.lowercased().hasPrefix("sha256=") else { return false }
        let given = header.dropFirst("sha256=".count).lowercased()
        let expected = sign(body).dropFirst("sha256=".count)
        return ConstantTime.equal(Data(given.utf8), Data(expected.utf8))
    }

    package func sign(_ body: Data) -> String {
        "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: key).map { String(format: "%02x", $0) }.joined()
    }
}
