import ArgumentParser
import Channels
import CRMModel
import Foundation
import Logging
import Orchestrator

/// `crm-sidecar check smtp|twilio|whatsapp`: tries the configured provider for real, the way the
/// seed's test_smtp.py, test_twilio.py and test_whatsapp.py did, and says what to fix when it fails.
/// Exit 0 when it works, 1 when the provider refused or could not be reached, 78 when the channel is
/// not configured.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Try a provider's settings against the provider itself.",
        discussion: """
            smtp: connects, starts TLS and logs in (with --to, also sends a short test message).
            twilio: reads the account with the credentials. whatsapp: reads the sending number with the token.
            Nothing is sent to a client; nothing is written to the database.
            """
    )

    enum Provider: String, ExpressibleByArgument, CaseIterable {
        case smtp, twilio, whatsapp
    }

    @Argument(help: "smtp, twilio or whatsapp")
    var provider: Provider

    @Option(help: "smtp only: also send a test message to this address")
    var to: String?

    func run() async throws {
        let (configuration, _) = try Startup.configure()
        let report: String
        do throws(ProviderError) {
            switch provider {
            case .smtp:
                guard let smtp = configuration.smtp else { throw notConfigured("SMTP_HOST") }
                let composer = EmailComposer(sender: configuration.sender, links: nil)
                try await SMTPProvider(settings: smtp, composer: composer).check(sendingTo: to)
                let login = smtp.username.map { ", logged in as \($0)" } ?? ", without AUTH"
                report = "SMTP works: \(smtp.host):\(smtp.port) with \(Self.describe(smtp.security))\(login)"
                    + (to.map { "; a test message went to \($0)" } ?? "")
            case .twilio:
                guard let twilio = configuration.twilio else { throw notConfigured("TWILIO_ACCOUNT_SID") }
                report = "Twilio works: " + (try await TwilioProvider(settings: twilio).check())
            case .whatsapp:
                guard let whatsapp = configuration.whatsapp else { throw notConfigured("WHATSAPP_PHONE_NUMBER_ID") }
                report = "WhatsApp Cloud API works: " + (try await WhatsAppProvider(settings: whatsapp).check())
            }
        } catch {
            if error.providerCode == "not_configured" {
                StandardError.write(Data("\(provider.rawValue) is not configured: \(error.message)\n".utf8))
                throw ExitCode(78)
            }
            // The provider's name is the table's key, so the check reads a failure as sending would.
            let category = ErrorClasses.category(of: error, from: provider.rawValue, in: configuration.policy.errorClasses)
            StandardError.write(Data("\(provider.rawValue) check failed (\(category.rawValue)): \(error.description)\n\(advice(for: category))\n".utf8))
            throw ExitCode(1)
        }
        Report.line(report)
    }

    private func notConfigured(_ variable: String) -> ProviderError {
        ProviderError("set \(variable) and the variables beside it (crm-sidecar --help lists them)", answer: .notSent, providerCode: "not_configured")
    }

    static func describe(_ security: SMTPSettings.Security) -> String {
        switch security {
        case .startTLS: "STARTTLS"
        case .implicitTLS: "implicit TLS"
        case .none: "no TLS"
        }
    }

    /// What to do about a failure, in the operator's terms.
    private func advice(for category: FailureCategory) -> String {
        switch (provider, category) {
        case (.smtp, .auth): "Check SMTP_USERNAME and SMTP_PASSWORD (an app password for Gmail), SMTP_USE_TLS, and SMTP_CA_FILE for a private CA."
        case (.smtp, _): "Check SMTP_HOST and SMTP_PORT (587 for STARTTLS, 465 for implicit TLS) and that this machine may reach them."
        case (.twilio, .auth): "Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN in the Twilio console."
        case (.twilio, _): "Check that this machine reaches TWILIO_API_BASE_URL (https://api.twilio.com)."
        case (.whatsapp, .auth): "Check WHATSAPP_ACCESS_TOKEN: temporary tokens expire after 24 hours; use a system user's token."
        case (.whatsapp, _): "Check WHATSAPP_PHONE_NUMBER_ID (the number's id, not the number) and that this machine reaches the Graph API."
        }
    }
}
