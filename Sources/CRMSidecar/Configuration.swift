import Channels
import CRMModel
import Foundation
import Logging
import Orchestrator
import Webhooks
import Persistence

/// The sidecar's settings, from the environment and a `.env` file in the working directory (the
/// environment wins). Every problem is reported with the variable's name and what it accepts.
struct Configuration {
    enum Database {
        case sqlite(path: String)
        case postgres(url: String)
    }

    var database: Database
    var outboxDirectory: URL
    var templatesDirectory: URL?
    var sender: EmailSender
    var logLevel: Logger.Level
    var maxLineBytes: Int
    var maxInFlight: Int
    /// WHEN_MAX_IN_FLIGHT=wait: at the limit, stop reading stdin until a request finishes, instead of
    /// answering -32005.
    var waitWhenFull: Bool
    /// Parsed at once, so a malformed key stops the start-up with the variable named; never logged.
    var encryptionKey: MasterKey?
    /// DB_ENCRYPTION_KEY_PREVIOUS: the key being rotated away from; data under either reads.
    var previousEncryptionKey: MasterKey?
    var leaseDuration: Duration
    /// How long a stop may take to finish the work in flight before it is cancelled.
    var shutdownGrace: Duration
    var sendConcurrency: Int
    var pollInterval: Duration
    /// The seed's policy, with POLICY_FILE's sections put in.
    var policy: Policy
    /// Each nil when the channel has no credentials: its messages go to the outbox folder.
    var smtp: SMTPSettings?
    var twilio: TwilioSettings?
    var whatsapp: WhatsAppSettings?
    /// Where the side port listens (WEBHOOK_HOST, WEBHOOK_PORT).
    var webhookHost: String
    var webhookPort: Int
    /// How providers and mail clients reach the side port (PUBLIC_BASE_URL); by default the side
    /// port's own address, which only this machine can reach.
    var publicBaseURL: String
    var publicBaseURLIsSet: Bool
    var smsMaxSegments: Int
    /// The side port's settings (WEBHOOK_*, PUBLIC_BASE_URL, the providers' webhook secrets).
    var webhooks: WebhookSettings
    /// SIDECAR_INSTANCE: this sidecar's name among those sharing a PostgreSQL database, so events about
    /// what it accepted reach it even after a restart; random per process when unset.
    var instance: String?
    /// RETENTION_DAYS, AUDIT_RETENTION_DAYS.
    var retentionDays: Int
    var auditRetentionDays: Int
    /// ENABLE_AUDIT_LOGGING: false keeps only the records the law needs (consent, erasure).
    var auditEverything: Bool

    struct Problem: Error, CustomStringConvertible {
        var variable: String
        var reason: String
        var description: String { "\(variable) \(reason)" }
    }

    /// The variables this version reads, for `--help` and the README.
    static let documented: [(String, String)] = [
        ("DATABASE_URL", "sqlite:PATH for the embedded store (default: sqlite:crm.sqlite), or postgres://user:password@host:port/database?sslmode=disable|prefer|require"),
        ("OUTBOX_DIR", "where the outbox provider writes messages (default: outbox)"),
        ("TEMPLATES_DIR", "a folder of <message_type>.<channel>.mustache files that replace the shipped ones"),
        ("SMTP_FROM_EMAIL", "the From address of emails (default: crm-sidecar@localhost)"),
        ("SMTP_FROM_NAME", "the From display name of emails"),
        ("SENDER_POSTAL_ADDRESS", "the sender's postal address, put in every email's footer (CAN-SPAM requires one in commercial email)"),
        ("LOG_LEVEL", "trace, debug, info, notice, warning, error or critical (default: info)"),
        ("MAX_LINE_BYTES", "the longest request line accepted, in bytes (default: 1048576)"),
        ("MAX_IN_FLIGHT", "how many requests may run at once before -32005 (default: 64)"),
        ("WHEN_MAX_IN_FLIGHT", "refuse (answer -32005, the default) or wait (stop reading stdin until a request finishes: for clients that pipe many requests at once)"),
        ("DB_ENCRYPTION_KEY", "the master key for contact details and message content at rest: 32 bytes in base64 (openssl rand -base64 32) or a passphrase of 32+ characters. Required with PostgreSQL; with SQLite, a key is generated into <database>.key (0600) when unset"),
        ("DB_ENCRYPTION_KEY_PREVIOUS", "during a key rotation, the key being replaced: data under either key reads, everything new is under DB_ENCRYPTION_KEY; see `crm-sidecar rotate-key`"),
        ("WORK_LEASE_SECONDS", "how long a sidecar holds a claimed send before others may take it over; must outlast a provider call (default: 60)"),
        ("SHUTDOWN_GRACE_SECONDS", "how long a stop (end of stdin, SIGTERM) may take to finish requests and sends in flight; what is still unfinished then is left to its lease (default: 10)"),
        ("SEND_CONCURRENCY", "how many queued sends one sidecar runs at once (default: 8)"),
        ("POLICY_FILE", "a JSON file whose sections replace parts of the seed's policy: channel_order, message_type_first_channel, priority, business_hours, low_urgency_time, retry"),
        ("SEND_POLL_MS", "how often the work queue is checked for due sends, in milliseconds (default: 1000)"),
        ("SMTP_HOST", "the SMTP server; unset, emails go to the outbox folder"),
        ("SMTP_PORT", "the SMTP server's port (default: 587); 465 means implicit TLS"),
        ("SMTP_USE_TLS", "true (default): STARTTLS is required; implicit: TLS from the first byte (as on port 465, which always uses it); false: no TLS at all, only for a trusted relay"),
        ("SMTP_USERNAME", "the SMTP AUTH user name; unset, no AUTH"),
        ("SMTP_PASSWORD", "the SMTP AUTH password (required with SMTP_USERNAME)"),
        ("SMTP_CA_FILE", "a PEM file of certificate authorities to trust instead of the system's (a private CA)"),
        ("SMTP_TIMEOUT_SECONDS", "how long one message may take, connection included (default: 60)"),
        ("SMTP_MAX_SESSIONS", "how many SMTP connections may be open at once, each reused (default: 4)"),
        ("TWILIO_ACCOUNT_SID", "the Twilio account (AC...); unset, SMS go to the outbox folder"),
        ("TWILIO_AUTH_TOKEN", "the Twilio auth token (required with TWILIO_ACCOUNT_SID)"),
        ("TWILIO_PHONE_NUMBER", "the sending number in E.164 (or TWILIO_MESSAGING_SERVICE_SID)"),
        ("TWILIO_MESSAGING_SERVICE_SID", "a Twilio messaging service (MG...) to send from instead of one number"),
        ("TWILIO_API_BASE_URL", "the Twilio API's address (default: https://api.twilio.com); for tests"),
        ("WHATSAPP_PHONE_NUMBER_ID", "the WhatsApp Cloud API sending number's id; unset, WhatsApp messages go to the outbox folder"),
        ("WHATSAPP_ACCESS_TOKEN", "the WhatsApp Cloud API token (required with WHATSAPP_PHONE_NUMBER_ID)"),
        ("WHATSAPP_API_VERSION", "the Graph API version (default: v21.0)"),
        ("WHATSAPP_API_BASE_URL", "the Graph API's address (default: https://graph.facebook.com); for tests"),
        ("WEBHOOK_HOST", "the side port's address (default: 127.0.0.1)"),
        ("WEBHOOK_PORT", "the side port (default: 8787)"),
        ("PUBLIC_BASE_URL", "how providers and mail clients reach the side port, such as https://crm.example.com (default: http://WEBHOOK_HOST:WEBHOOK_PORT)"),
        ("SMS_MAX_SEGMENTS", "the longest SMS, in segments of 160 GSM-7 or 70 UCS-2 characters; longer text is shortened on a word boundary (default: 3)"),
        ("RETENTION_DAYS", "how long communications, attempts, events and inbound messages are kept after their last status change; never one still waiting to be sent (default: 730)"),
        ("AUDIT_RETENTION_DAYS", "how long audit entries are kept (default: RETENTION_DAYS)"),
        ("ENABLE_AUDIT_LOGGING", "true (default): every state change is audited; false: only consent changes and erasures, which the law needs"),
    ]

    init(environment: [String: String]) throws(Problem) {
        func value(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(Problem) -> Int {
            guard let raw = value(name) else { return fallback }
            guard let number = Int(raw), range.contains(number) else {
                throw Problem(variable: name, reason: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }

        let url = value("DATABASE_URL") ?? "sqlite:crm.sqlite"
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            database = .postgres(url: url)
        } else if url.hasPrefix("sqlite://") {
            database = .sqlite(path: String(url.dropFirst("sqlite://".count)))
        } else if url.hasPrefix("sqlite:") {
            database = .sqlite(path: String(url.dropFirst("sqlite:".count)))
        } else {
            throw Problem(variable: "DATABASE_URL", reason: "must be sqlite:PATH or postgres://user:password@host:port/database")
        }
        if case .sqlite(let path) = database, path.isEmpty {
            throw Problem(variable: "DATABASE_URL", reason: "has no file path after sqlite:")
        }

        outboxDirectory = URL(fileURLWithPath: value("OUTBOX_DIR") ?? "outbox", isDirectory: true)
        templatesDirectory = value("TEMPLATES_DIR").map { URL(fileURLWithPath: $0, isDirectory: true) }
        sender = EmailSender(
            address: value("SMTP_FROM_EMAIL") ?? "crm-sidecar@localhost", name: value("SMTP_FROM_NAME"),
            postalAddress: value("SENDER_POSTAL_ADDRESS")
        )

        let level = (value("LOG_LEVEL") ?? "info").lowercased()
        guard let logLevel = Logger.Level(rawValue: level == "warn" ? "warning" : level) else {
            throw Problem(variable: "LOG_LEVEL", reason: "must be one of trace, debug, info, notice, warning, error, critical")
        }
        self.logLevel = logLevel
        maxLineBytes = try integer("MAX_LINE_BYTES", default: 1 << 20, range: 1024...(64 << 20))
        maxInFlight = try integer("MAX_IN_FLIGHT", default: 64, range: 1...10_000)
        switch value("WHEN_MAX_IN_FLIGHT")?.lowercased() {
        case nil, "refuse": waitWhenFull = false
        case "wait": waitWhenFull = true
        default: throw Problem(variable: "WHEN_MAX_IN_FLIGHT", reason: "must be refuse or wait")
        }
        leaseDuration = .seconds(try integer("WORK_LEASE_SECONDS", default: 60, range: 2...3600))
        shutdownGrace = .seconds(try integer("SHUTDOWN_GRACE_SECONDS", default: 10, range: 1...3600))
        sendConcurrency = try integer("SEND_CONCURRENCY", default: 8, range: 1...256)
        pollInterval = .milliseconds(try integer("SEND_POLL_MS", default: 1000, range: 20...60_000))

        if let path = value("POLICY_FILE") {
            do {
                policy = try PolicyFile.load(URL(fileURLWithPath: path))
            } catch {
                throw Problem(variable: "POLICY_FILE", reason: "\(path): \(error.field.isEmpty ? "" : error.field + " ")\(error.reason)")
            }
        } else {
            policy = .seed
        }

        smsMaxSegments = try integer("SMS_MAX_SEGMENTS", default: 3, range: 1...10)
        retentionDays = try integer("RETENTION_DAYS", default: 730, range: 1...36_500)
        auditRetentionDays = try integer("AUDIT_RETENTION_DAYS", default: retentionDays, range: 1...36_500)
        switch value("ENABLE_AUDIT_LOGGING")?.lowercased() {
        case nil, "true", "1", "yes": auditEverything = true
        case "false", "0", "no": auditEverything = false
        default: throw Problem(variable: "ENABLE_AUDIT_LOGGING", reason: "must be true or false")
        }
        webhookHost = value("WEBHOOK_HOST") ?? "127.0.0.1"
        webhookPort = try integer("WEBHOOK_PORT", default: 8787, range: 0...65535)
        if let base = value("PUBLIC_BASE_URL") {
            guard let url = URL(string: base), ["http", "https"].contains(url.scheme ?? ""), url.host != nil, url.query == nil else {
                throw Problem(variable: "PUBLIC_BASE_URL", reason: "must be an http:// or https:// URL without a query, such as https://crm.example.com")
            }
            publicBaseURL = base.hasSuffix("/") ? String(base.dropLast()) : base
            publicBaseURLIsSet = true
        } else {
            let host = webhookHost.contains(":") ? "[\(webhookHost)]" : webhookHost
            publicBaseURL = "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(webhookPort)"
            publicBaseURLIsSet = false
        }

        func required(_ name: String, with other: String) throws(Problem) -> String {
            guard let found = value(name) else { throw Problem(variable: name, reason: "is required when \(other) is set") }
            return found
        }
        func serviceURL(_ name: String, default fallback: String) throws(Problem) -> String {
            let raw = value(name) ?? fallback
            guard let url = URL(string: raw), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw Problem(variable: name, reason: "must be an http:// or https:// URL")
            }
            return raw
        }

        if let host = value("SMTP_HOST") {
            let port = try integer("SMTP_PORT", default: 587, range: 1...65535)
            var security: SMTPSettings.Security
            switch value("SMTP_USE_TLS")?.lowercased() {
            case nil, "true", "1", "yes", "starttls": security = .startTLS
            case "implicit", "ssl", "tls": security = .implicitTLS
            case "false", "0", "no": security = .none
            default: throw Problem(variable: "SMTP_USE_TLS", reason: "must be true (STARTTLS), implicit (TLS from the first byte) or false")
            }
            // Port 465 speaks TLS from the first byte (RFC 8314), whatever else is said.
            if port == 465 { security = .implicitTLS }
            let username = value("SMTP_USERNAME")
            let password = try username.map { _ throws(Problem) in try required("SMTP_PASSWORD", with: "SMTP_USERNAME") }
            if let file = value("SMTP_CA_FILE"), !FileManager.default.isReadableFile(atPath: file) {
                throw Problem(variable: "SMTP_CA_FILE", reason: "names a file that does not exist or cannot be read: \(file)")
            }
            smtp = SMTPSettings(
                host: host, port: port, security: security,
                username: username, password: password, caFile: value("SMTP_CA_FILE"),
                timeout: .seconds(try integer("SMTP_TIMEOUT_SECONDS", default: 60, range: 1...600)),
                maxSessions: try integer("SMTP_MAX_SESSIONS", default: 4, range: 1...64)
            )
        } else {
            smtp = nil
        }

        if let sid = value("TWILIO_ACCOUNT_SID") {
            let from = value("TWILIO_PHONE_NUMBER")
            let service = value("TWILIO_MESSAGING_SERVICE_SID")
            if from == nil && service == nil {
                throw Problem(variable: "TWILIO_PHONE_NUMBER", reason: "(or TWILIO_MESSAGING_SERVICE_SID) is required when TWILIO_ACCOUNT_SID is set")
            }
            if let from, (try? PhoneNumber(validating: from)) == nil {
                throw Problem(variable: "TWILIO_PHONE_NUMBER", reason: "must be a number in E.164 form, such as +14155550100")
            }
            twilio = TwilioSettings(
                accountSID: sid, authToken: try required("TWILIO_AUTH_TOKEN", with: "TWILIO_ACCOUNT_SID"), from: from,
                messagingServiceSID: service, apiBaseURL: try serviceURL("TWILIO_API_BASE_URL", default: "https://api.twilio.com"),
                statusCallbackURL: publicBaseURLIsSet ? publicBaseURL + "/webhooks/twilio" : nil
            )
        } else {
            twilio = nil
        }

        if let phoneNumberID = value("WHATSAPP_PHONE_NUMBER_ID") {
            whatsapp = WhatsAppSettings(
                phoneNumberID: phoneNumberID,
                accessToken: try required("WHATSAPP_ACCESS_TOKEN", with: "WHATSAPP_PHONE_NUMBER_ID"),
                apiBaseURL: try serviceURL("WHATSAPP_API_BASE_URL", default: "https://graph.facebook.com"),
                apiVersion: value("WHATSAPP_API_VERSION") ?? "v21.0",
                templates: policy.whatsappTemplates
            )
        } else {
            whatsapp = nil
        }

        // Guessable tokens are refused: the dashboard has no rate limit of its own.
        let dashboardToken = value("DASHBOARD_TOKEN")
        if let dashboardToken, dashboardToken.count < 24 {
            throw Problem(variable: "DASHBOARD_TOKEN", reason: "must be at least 24 characters, such as what openssl rand -hex 16 prints")
        }
        webhooks = WebhookSettings(
            host: webhookHost, port: webhookPort, publicBaseURL: publicBaseURL,
            twilioAuthToken: twilio?.authToken ?? value("TWILIO_AUTH_TOKEN"),
            whatsAppAppSecret: value("WHATSAPP_APP_SECRET"), whatsAppVerifyToken: value("WHATSAPP_WEBHOOK_VERIFY_TOKEN"),
            maxBodyBytes: try integer("WEBHOOK_MAX_BODY_BYTES", default: 256 * 1024, range: 1024...(16 << 20)),
            dashboardToken: dashboardToken
        )
        if let name = value("SIDECAR_INSTANCE") {
            guard (1...40).contains(name.count), name.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" }) else {
                throw Problem(variable: "SIDECAR_INSTANCE", reason: "must be 1 to 40 ASCII letters, digits or underscores, such as planner_1")
            }
            instance = name.lowercased()
        } else {
            instance = nil
        }

        if let secret = value("DB_ENCRYPTION_KEY") {
            do {
                encryptionKey = try MasterKey(secret: secret)
            } catch {
                throw Problem(variable: "DB_ENCRYPTION_KEY", reason: "must be 32 bytes in base64 (openssl rand -base64 32) or a passphrase of at least 32 characters")
            }
        } else if case .postgres = database {
            throw Problem(variable: "DB_ENCRYPTION_KEY", reason: "is required with PostgreSQL: 32 bytes in base64 (openssl rand -base64 32)")
        } else {
            encryptionKey = nil
        }
        if let secret = value("DB_ENCRYPTION_KEY_PREVIOUS") {
            guard encryptionKey != nil else {
                throw Problem(variable: "DB_ENCRYPTION_KEY_PREVIOUS", reason: "needs DB_ENCRYPTION_KEY, the new key to rotate to")
            }
            do {
                previousEncryptionKey = try MasterKey(secret: secret)
            } catch {
                throw Problem(variable: "DB_ENCRYPTION_KEY_PREVIOUS", reason: "must be 32 bytes in base64 or a passphrase of at least 32 characters")
            }
        } else {
            previousEncryptionKey = nil
        }
    }

    /// The process environment over `.env` in the working directory.
    static func loadEnvironment() -> [String: String] {
        DotEnv.load(path: ".env").merging(ProcessInfo.processInfo.environment) { _, process in process }
    }
}
