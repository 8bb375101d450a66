import Channels
import CRMModel
import Foundation
import Logging
import Orchestrator

/// The provider of each channel, from the configuration: the real one when its credentials are set,
/// the outbox folder otherwise (said once on stderr, so nobody wonders where the messages went).
enum Providers {
    static func make(_ configuration: Configuration, links: EmailLinks, logger: Logger) -> ProviderRegistry {
        let composer = EmailComposer(sender: configuration.sender, links: links)
        return ProviderRegistry(Channel.allCases.map { channel -> any ChannelProvider in
            switch channel {
            case .email:
                if let smtp = configuration.smtp {
                    logger.info("emails go through SMTP", metadata: [
                        "smtp.server": "\(smtp.host):\(smtp.port)", "smtp.security": "\(smtp.security.rawValue)",
                    ])
                    return SMTPProvider(settings: smtp, composer: composer)
                }
            case .sms:
                if let twilio = configuration.twilio {
                    logger.info("SMS go through Twilio", metadata: ["twilio.api": "\(twilio.apiBaseURL)"])
                    return TwilioProvider(settings: twilio, links: links, attachments: configuration.policy.smsAttachments)
                }
            case .whatsapp:
                if let whatsapp = configuration.whatsapp {
                    logger.info("WhatsApp messages go through the Cloud API", metadata: ["whatsapp.api": "\(whatsapp.apiBaseURL)"])
                    return WhatsAppProvider(settings: whatsapp)
                }
            }
            logger.notice(
                "no credentials for this channel; its messages are written to the outbox folder",
                metadata: ["channel": "\(channel.rawValue)", "outbox": "\(configuration.outboxDirectory.path)"]
            )
            return OutboxProvider(channel: channel, directory: configuration.outboxDirectory, composer: composer)
        })
    }
}
