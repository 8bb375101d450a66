/// A mailbox as RFC 5321 (section 4.1.2) defines it: `local-part@domain`, where the local part is a
/// dot-string or a quoted string and the domain is a host name or an address literal.
///
/// Addresses that need SMTPUTF8 (RFC 6531) are refused with a reason: the SMTP path does not offer it.
public struct EmailAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String

    public init(validating raw: String) throws(FieldError) {
        if let reason = Self.problem(in: raw) {
            throw FieldError(field: "", reason: reason)
        }
        value = raw
    }

    public var description: String { value }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(validating: raw) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.reason))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    private static let atext: Set<UInt8> = Set(Array("!#$%&'*+-/=?^_`{|}~".utf8))

    private static func problem(in raw: String) -> String? {
        let bytes = Array(raw.utf8)
        if bytes.isEmpty { return "must not be empty; expected a mailbox such as name@example.com" }
        if bytes.contains(where: { $0 >= 0x80 }) {
            return "must be ASCII: internationalised addresses (SMTPUTF8) are not supported; use the punycode form of the domain"
        }
        if bytes.count > 254 { return "is longer than the 254 characters a mailbox may have" }
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else {
            return "must contain '@' between a local part and a domain, such as name@example.com"
        }
        let local = bytes[..<at]
        let domain = bytes[(at + 1)...]
        if local.isEmpty { return "has an empty local part before '@'" }
        if local.count > 64 { return "has a local part longer than 64 characters" }
        if let problem = localPartProblem(local) { return problem }
        if domain.isEmpty { return "has an empty domain after '@'" }
        return domainProblem(domain)
    }

    private static func isAtext(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
            || atext.contains(byte)
    }

    private static func localPartProblem(_ local: ArraySlice<UInt8>) -> String? {
        if local.first == UInt8(ascii: "\"") {
            // Quoted-string: printable ASCII, with backslash escaping one printable character.
            guard local.count >= 2, local.last == UInt8(ascii: "\"") else {
                return "has an unterminated quoted local part"
            }
            var escaped = false
            for byte in local.dropFirst().dropLast() {
                guard (32...126).contains(byte) else { return "has a control character in its local part" }
                if escaped { escaped = false; continue }
                if byte == UInt8(ascii: "\\") { escaped = true; continue }
                if byte == UInt8(ascii: "\"") { return "has an unescaped quote in its quoted local part" }
            }
            return escaped ? "ends its quoted local part with a lone backslash" : nil
        }
        // Dot-string: atoms of atext joined by single dots.
        for atom in local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            if atom.isEmpty { return "has a local part that starts or ends with a dot, or has two dots in a row" }
            if !atom.allSatisfy(isAtext) {
                return "has a character not allowed in an unquoted local part (letters, digits and !#$%&'*+-/=?^_`{|}~ are)"
            }
        }
        return nil
    }

    private static func domainProblem(_ domain: ArraySlice<UInt8>) -> String? {
        if domain.first == UInt8(ascii: "[") {
            guard domain.last == UInt8(ascii: "]"), domain.count > 2 else { return "has an unterminated address literal" }
            let literal = String(decoding: domain.dropFirst().dropLast(), as: UTF8.self)
            if literal.hasPrefix("IPv6:") {
                let hex = literal.dropFirst(5)
                return !hex.isEmpty && hex.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." })
                    ? nil : "has an invalid IPv6 address literal"
            }
            let octets = literal.split(separator: ".", omittingEmptySubsequences: false)
            let valid = octets.count == 4 && octets.allSatisfy { UInt8($0) != nil && $0.count <= 3 }
            return valid ? nil : "has an invalid IPv4 address literal"
        }
        if domain.count > 253 { return "has a domain longer than 253 characters" }
        for label in domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            if label.isEmpty { return "has a domain with an empty label (a leading, trailing or doubled dot)" }
            if label.count > 63 { return "has a domain label longer than 63 characters" }
            let isLetDig: (UInt8) -> Bool = {
                (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || (0x30...0x39).contains($0)
            }
            if !label.allSatisfy({ isLetDig($0) || $0 == UInt8(ascii: "-") }) {
                return "has a domain with a character other than letters, digits, '-' and '.'"
            }
            if label.first == UInt8(ascii: "-") || label.last == UInt8(ascii: "-") {
                return "has a domain label that starts or ends with '-'"
            }
        }
        return nil
    }
}
