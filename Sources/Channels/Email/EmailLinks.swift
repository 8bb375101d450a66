package import Crypto
package import Foundation
import Synchronization

/// Links in emails that lead back to the side port (unsubscribe, the open pixel, clicks), each carrying a token that names the communication and is signed with HMAC-SHA256, so a
/// forged or altered link is refused.
///
/// A token is base64url of the communication id's 16 bytes and the first 16 bytes of the HMAC over
/// the purpose, the id and the link's target (for clicks). It reveals the id, which is not secret, and
/// nothing else.
package final class EmailLinks: Sendable {
    package enum Purpose: String, Sendable {
        case unsubscribe = "u"
        case open = "o"
        case click = "c"
        case attachment = "a"
    }

    /// Where providers and mail clients reach the side port, without a trailing slash: PUBLIC_BASE_URL,
    /// or the address the side port actually bound (WEBHOOK_PORT=0 takes any free port).
    package var baseURL: String { base.withLock { $0 } }
    private let base: Mutex<String>
    private let followsBoundAddress: Bool
    private let key: SymmetricKey
    /// The previous master key's, during and after a key rotation: links in emails already sent
    /// keep working (an unsubscribe link must, for 30 days at least).
    private let previousKey: SymmetricKey?

    /// - Parameter followsBoundAddress: true when `baseURL` is only a guess from WEBHOOK_HOST and
    ///   WEBHOOK_PORT (no PUBLIC_BASE_URL): the address the side port binds replaces it.
    package init(baseURL: String, key: SymmetricKey, previousKey: SymmetricKey? = nil, followsBoundAddress: Bool = false) {
        self.base = Mutex(baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL)
        self.followsBoundAddress = followsBoundAddress
        self.key = key
        self.previousKey = previousKey
    }

    /// The side port listens on `host:port`: links name it from now on, unless PUBLIC_BASE_URL was set.
    package func sidePortBound(host: String, port: Int) {
        guard followsBoundAddress else { return }
        let reachable = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "[::1]" : host.contains(":") ? "[\(host)]" : host
        base.withLock { $0 = "http://\(reachable):\(port)" }
    }

    package func unsubscribeURL(for communicationID: UUID) -> String {
        "\(baseURL)/email/unsubscribe/\(token(.unsubscribe, for: communicationID))"
    }

    package func openURL(for communicationID: UUID) -> String {
        "\(baseURL)/email/open/\(token(.open, for: communicationID))"
    }

    /// A link through the side port to `target`; the token signs the target too, so the side port
    /// never redirects anywhere a message of ours did not link to.
    package func clickURL(for communicationID: UUID, target: String) -> String {
        let query = target.addingPercentEncoding(withAllowedCharacters: Self.queryValue) ?? ""
        return "\(baseURL)/email/click/\(token(.click, for: communicationID, target: target))?u=\(query)"
    }

    /// A link to a communication's attachment (the one at `position`), for channels that cannot carry
    /// the file (SMS), valid until `expiresAt`. The token signs the position and the expiry. The last
    /// segment only gives the link a file type (`attachment-1.pdf`): the file's own name is the
    /// client's data, and URLs end up in provider and proxy logs.
    package func attachmentURL(for communicationID: UUID, position: Int, filename: String, expiresAt: Date) -> String {
        let expires = Int64(expiresAt.timeIntervalSince1970.rounded(.up))
        let suffix = filename.split(separator: ".").last.map { String($0).lowercased() } ?? ""
        let name = "attachment-\(position + 1)" + (suffix.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } && !suffix.isEmpty ? ".\(suffix)" : "")
        let token = token(.attachment, for: communicationID, target: "\(position):\(expires)")
        return "\(baseURL)/attachments/\(token)/\(position)/\(expires)/\(name)"
    }

    /// The communication and position an attachment link names, when its token is ours and it has
    /// not expired at `now`.
    package func verifyAttachment(token: String, position: String, expires: String, at now: Date) -> (id: UUID, position: Int)? {
        guard let index = Int(position), index >= 0, let seconds = Int64(expires), "\(index)" == position, "\(seconds)" == expires,
            let id = verify(token, .attachment, target: "\(index):\(seconds)"), Double(seconds) > now.timeIntervalSince1970
        else { return nil }
        return (id, index)
    }

    private static let queryValue = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))

    package func token(_ purpose: Purpose, for communicationID: UUID, target: String = "") -> String {
        let id = withUnsafeBytes(of: communicationID.uuid) { Data($0) }
        return Self.base64URL(id + signature(purpose, id: id, target: target))
    }

    /// The communication a token was made for, or nil when it was not made with this key for this
    /// purpose and target.
    package func verify(_ token: String, _ purpose: Purpose, target: String = "") -> UUID? {
        // Only the canonical spelling: the last character's spare bits would otherwise let altered
        // tokens through.
        guard let bytes = Self.data(base64URL: token), bytes.count == 32, Self.base64URL(bytes) == token else { return nil }
        let id = bytes.prefix(16)
        for key in [key] + (previousKey.map { [$0] } ?? []) {
            let expected = signature(purpose, id: Data(id), target: target, key: key)
            // Constant time: a timing difference must not reveal how much of a forged tag was right.
            if zip(expected, bytes.suffix(16)).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 {
                return id.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
            }
        }
        return nil
    }

    private func signature(_ purpose: Purpose, id: Data, target: String, key: SymmetricKey? = nil) -> Data {
        var message = Data(purpose.rawValue.utf8)
        message += id
        message += Data(target.utf8)
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: key ?? self.key)).prefix(16)
    }

    private static func base64URL(_ data: Data) -> String {
        ASCIIText.replacing(toBase64URL, in: data.base64EncodedString())
    }

    private static let toBase64URL = ASCIIText.Replacements(["+": "-", "/": "_", "=": ""])
    private static let fromBase64URL = ASCIIText.Replacements(["-": "+", "_": "/"])

    private static func data(base64URL text: String) -> Data? {
        var base64 = ASCIIText.replacing(fromBase64URL, in: text)
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
