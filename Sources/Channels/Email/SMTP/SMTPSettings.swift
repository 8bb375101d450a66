package import Foundation

/// How to reach the SMTP server (SMTP_HOST, SMTP_PORT, SMTP_USE_TLS, SMTP_USERNAME, SMTP_PASSWORD,
/// SMTP_CA_FILE, SMTP_TIMEOUT_SECONDS, SMTP_MAX_SESSIONS).
package struct SMTPSettings: Sendable, Equatable {
    package enum Security: String, Sendable, Equatable {
        /// TLS from the first byte (`smtps://`, port 465).
        case implicitTLS = "implicit_tls"
        /// A plain connection upgraded with STARTTLS before anything else is said; refused if the
        /// server does not offer it (never a silent fall back to plain text).
        case startTLS = "starttls"
        /// No TLS at all: only for a relay on loopback or a trusted network, chosen explicitly.
        case none
    }

    package var host: String
    package var port: Int
    package var security: Security
    package var username: String?
    package var password: String?
    /// A PEM file of certificate authorities trusted instead of the system's (a private CA, or the
    /// tests' self-signed certificate). Certificates are always checked.
    package var caFile: String?
    package var connectTimeout: Duration
    /// The whole conversation for one message, connection included.
    package var timeout: Duration
    /// How many SMTP sessions may be open at once; each is reused from message to message.
    package var maxSessions: Int

    package init(
        host: String, port: Int, security: Security, username: String? = nil, password: String? = nil,
        caFile: String? = nil, connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(60),
        maxSessions: Int = 4
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maxSessions = maxSessions
    }

    /// The URL libcurl connects to; a host that is an IPv6 literal is bracketed.
    var url: String {
        let scheme = security == .implicitTLS ? "smtps" : "smtp"
        let host = self.host.contains(":") && !self.host.hasPrefix("[") ? "[\(self.host)]" : self.host
        // The path is the name said in EHLO; libcurl takes it from the URL.
        return "\(scheme)://\(host):\(port)/\(Self.localName)"
    }

    /// This machine's name for EHLO, as servers log it; `localhost` when it has none.
    static let localName: String = {
        let name = ProcessInfo.processInfo.hostName
        return name.isEmpty || name.contains("/") ? "localhost" : name
    }()
}
