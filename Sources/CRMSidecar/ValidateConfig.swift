import ArgumentParser
import Channels
import Foundation
import Webhooks

/// `crm-sidecar validate-config`: reads the configuration as `serve` would and says, setting by
/// setting, what the sidecar will do with it and what looks wrong, without touching the network or
/// the database (the seed's validate_config.py). Exit 0 when it would start, 78 when it would not.
struct ValidateConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate-config",
        abstract: "Check the configuration (environment and .env) without starting."
    )

    func run() throws {
        let configuration: Configuration
        do {
            configuration = try Configuration(environment: Configuration.loadEnvironment())
        } catch {
            Report.line("✗ \(error.variable) \(error.reason)")
            Report.line("The sidecar would not start (exit 78). Fix the setting above; crm-sidecar --help lists every variable.")
            throw ExitCode(78)
        }
        var warnings: [String] = []
        var lines: [String] = []

        switch configuration.database {
        case .sqlite(let path):
            lines.append("✓ database: SQLite at \(path)")
            if configuration.encryptionKey == nil {
                warnings.append("DB_ENCRYPTION_KEY is not set: a key will be generated into \(path).key on first start; back it up, or set the variable")
            }
        case .postgres:
            lines.append("✓ database: PostgreSQL (DATABASE_URL), contact details and messages encrypted with DB_ENCRYPTION_KEY")
        }

        if let smtp = configuration.smtp {
            lines.append("✓ email: SMTP \(smtp.host):\(smtp.port), \(Check.describe(smtp.security))" + (smtp.username.map { ", AUTH as \($0)" } ?? ", no AUTH"))
            if smtp.security == .none && !["localhost", "127.0.0.1", "::1"].contains(smtp.host) {
                warnings.append("SMTP_USE_TLS=false sends mail and the password in clear text to \(smtp.host); use STARTTLS (true) or port 465")
            }
            if smtp.username == nil {
                warnings.append("SMTP_USERNAME is not set: no AUTH; most servers refuse to relay without it")
            }
            if configuration.sender.postalAddress == nil {
                warnings.append("SENDER_POSTAL_ADDRESS is not set: CAN-SPAM requires a valid postal address in every commercial email")
            }
        } else {
            lines.append("• email: no SMTP_HOST; emails are written to \(configuration.outboxDirectory.path)/email")
        }
        if let twilio = configuration.twilio {
            lines.append("✓ sms: Twilio account \(twilio.accountSID), from \(twilio.from ?? twilio.messagingServiceSID ?? "?")")
            if !twilio.accountSID.hasPrefix("AC") || twilio.accountSID.count != 34 {
                warnings.append("TWILIO_ACCOUNT_SID does not look like a Twilio account SID (AC followed by 32 hex digits)")
            }
        } else {
            lines.append("• sms: no TWILIO_ACCOUNT_SID; SMS are written to \(configuration.outboxDirectory.path)/sms")
        }
        if let whatsapp = configuration.whatsapp {
            lines.append("✓ whatsapp: Cloud API \(whatsapp.apiVersion), number id \(whatsapp.phoneNumberID)")
            if !whatsapp.phoneNumberID.allSatisfy(\.isNumber) {
                warnings.append("WHATSAPP_PHONE_NUMBER_ID should be the number's numeric id from Meta's dashboard, not the phone number")
            }
        } else {
            lines.append("• whatsapp: no WHATSAPP_PHONE_NUMBER_ID; WhatsApp messages are written to \(configuration.outboxDirectory.path)/whatsapp")
        }

        lines.append("✓ side port: \(configuration.webhookHost):\(configuration.webhookPort), reached at \(configuration.publicBaseURL)")
        let realProviders = configuration.smtp != nil || configuration.twilio != nil || configuration.whatsapp != nil
        if realProviders && !configuration.publicBaseURLIsSet {
            warnings.append("PUBLIC_BASE_URL is not set: unsubscribe links and delivery callbacks point at \(configuration.publicBaseURL), which only this machine reaches")
        } else if realProviders && !configuration.publicBaseURL.hasPrefix("https://") {
            warnings.append("PUBLIC_BASE_URL is not https: providers and mail clients expect HTTPS links")
        }
        if configuration.whatsapp != nil && configuration.webhooks.whatsAppAppSecret == nil {
            warnings.append("WHATSAPP_APP_SECRET is not set: WhatsApp delivery receipts and replies will be refused (403), since their signature cannot be checked")
        }
        if configuration.whatsapp != nil && configuration.webhooks.whatsAppVerifyToken == nil {
            warnings.append("WHATSAPP_WEBHOOK_VERIFY_TOKEN is not set: Meta's webhook subscription handshake will be refused")
        }

        do {
            _ = try TemplateRenderer(overrides: configuration.templatesDirectory, smsMaxSegments: configuration.smsMaxSegments)
            lines.append("✓ templates: " + (configuration.templatesDirectory.map { "shipped, overridden from \($0.path)" } ?? "shipped"))
        } catch {
            Report.line(lines.joined(separator: "\n"))
            Report.line("✗ TEMPLATES_DIR \(error)")
            throw ExitCode(78)
        }

        Report.line(lines.joined(separator: "\n"))
        for warning in warnings {
            Report.line("! \(warning)")
        }
        Report.line(warnings.isEmpty ? "The configuration is valid." : "The configuration is valid, with \(warnings.count) warning(s) above.")
    }
}
