package import Crypto
package import Foundation

/// The `X-Twilio-Signature` check, as Twilio's own SDKs do it (twilio-python's `RequestValidator`):
/// HMAC-SHA1 with the auth token over the full URL Twilio requested followed by every form parameter,
/// sorted by name, as name and value; tried with and without the scheme's default port, because
/// Twilio's own signing is inconsistent about it. A JSON body is signed through the URL instead: its
/// SHA-256 travels as the `bodySHA256` query parameter and must match.
package struct TwilioSignature: Sendable {
    private let key: SymmetricKey

    package init(authToken: String) {
        key = SymmetricKey(data: Data(authToken.utf8))
    }

    /// Whether `signature` signs a request to `url` with `body` of `contentType`.
    package func isValid(signature: String, url: String, body: Data, contentType: String?) -> Bool {
        guard let components = URLComponents(string: url), !signature.isEmpty else { return false }
        var parameters: [(String, String)] = []
        if let bodyHash = components.queryItems?.first(where: { $0.name == "bodySHA256" })?.value {
            let digest = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
            guard ConstantTime.equal(Data(digest.utf8), Data(bodyHash.lowercased().utf8)) else { return false }
        } else if contentType?.lowercased().hasPrefix("application/x-www-form-urlencoded") ?? true {
            guard let form = FormEncoding.decode(body) else { return false }
            parameters = form
        }
        guard let given = Data(base64Encoded: signature) else { return false }
        return Self.variants(of: components).contains { variant in
            ConstantTime.equal(compute(url: variant, parameters: parameters), given)
        }
    }

    /// The signature of a request, in Twilio's order: the URL, then each name and value sorted by name
    /// (and, for a repeated name, by value), compared byte for byte as Python compares strings.
    package func compute(url: String, parameters: [(String, String)]) -> Data {
        var text = url
        let sorted = parameters.sorted { left, right in
            left.0 == right.0 ? left.1.utf8.lexicographicallyPrecedes(right.1.utf8) : left.0.utf8.lexicographicallyPrecedes(right.0.utf8)
        }
        var previous: (String, String)?
        for parameter in sorted where previous.map({ $0 != parameter }) ?? true {
            text += parameter.0 + parameter.1
            previous = parameter
        }
        return Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(text.utf8), using: key))
    }

    /// The URL as given, with the default port added, and with any port removed.
    private static func variants(of components: URLComponents) -> [String] {
        var withPort = components
        var withoutPort = components
        withoutPort.port = nil
        if withPort.port == nil {
            withPort.port = components.scheme?.lowercased() == "https" ? 443 : 80
        }
        return [components, withPort, withoutPort].compactMap { $0.string }
    }
}
