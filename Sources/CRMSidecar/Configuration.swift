import Channels
import CRMModel
import Foundation
import Logging
import Orchestrator
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
    /// Parsed at once, so a malformed key stops the start-up with the variable named; never logged.
    var encryptionKey: MasterKey?
    var leaseDuration: Duration
    var sendConcurrency: Int
    var pollInterval: Duration
    /// The seed's policy, with POLICY_FILE's sections put in.
    var policy: Policy

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
        ("LOG_LEVEL", "trace, debug, info, notice, warning, error or critical (default: info)"),
        ("MAX_LINE_BYTES", "the longest request line accepted, in bytes (default: 1048576)"),
        ("MAX_IN_FLIGHT", "how many requests may run at once before -32005 (default: 64)"),
        ("DB_ENCRYPTION_KEY", "the master key for contact details and message content at rest: 32 bytes in base64 (openssl rand -base64 32) or a passphrase of 32+ characters. Required with PostgreSQL; with SQLite, a key is generated into <database>.key (0600) when unset"),
        ("WORK_LEASE_SECONDS", "how long a sidecar holds a claimed send before others may take it over; must outlast a provider call (default: 60)"),
        ("SEND_CONCURRENCY", "how many queued sends one sidecar runs at once (default: 8)"),
        ("POLICY_FILE", "a JSON file whose sections replace parts of the seed's policy: channel_order, message_type_first_channel, priority, business_hours, low_urgency_time, retry"),
        ("SEND_POLL_MS", "how often the work queue is checked for due sends, in milliseconds (default: 1000)"),
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
        sender = EmailSender(address: value("SMTP_FROM_EMAIL") ?? "crm-sidecar@localhost", name: value("SMTP_FROM_NAME"))

        let level = (value("LOG_LEVEL") ?? "info").lowercased()
        guard let logLevel = Logger.Level(rawValue: level == "warn" ? "warning" : level) else {
            throw Problem(variable: "LOG_LEVEL", reason: "must be one of trace, debug, info, notice, warning, error, critical")
        }
        self.logLevel = logLevel
        maxLineBytes = try integer("MAX_LINE_BYTES", default: 1 << 20, range: 1024...(64 << 20))
        maxInFlight = try integer("MAX_IN_FLIGHT", default: 64, range: 1...10_000)
        leaseDuration = .seconds(try integer("WORK_LEASE_SECONDS", default: 60, range: 2...3600))
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
    }

    /// The process environment over `.env` in the working directory.
    static func loadEnvironment() -> [String: String] {
        DotEnv.load(path: ".env").merging(ProcessInfo.processInfo.environment) { _, process in process }
    }
}
