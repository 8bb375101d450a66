package import Channels
package import CRMModel
package import Foundation

/// The rules the strategy follows. The defaults are the seed's own policy (shared/DESIGN.md,
/// "Defaults taken from the seed's implementation").
package struct Policy: Sendable, Equatable {
    /// Channel order by urgency, first to last.
    package var channelOrder: [Urgency: [Channel]]
    /// Message types whose own channel goes first, whatever the urgency.
    package var messageTypeFirstChannel: [MessageType: Channel]
    package var basePriority: [Urgency: Int]
    package var priorityBoost: [MessageType: Int]
    /// In the client's time zone: normal urgency waits for these hours.
    package var businessHoursStart: LocalTime
    package var businessHoursEnd: LocalTime
    /// In the client's time zone: low urgency is sent at this time of day.
    package var lowUrgencyTime: LocalTime
    /// The quiet hours of a client who has not set their own (the seed's 22:00 to 08:00).
    package var defaultQuietHoursStart: LocalTime
    package var defaultQuietHoursEnd: LocalTime
    package var retry: RetryPolicy
    /// Sends allowed per provider name; providers not named are not limited.
    package var rateLimits: [String: RateLimiter.Limit]
    /// When a sent message with no receipt falls back to the next channel; none by default (the
    /// outbox provider never has receipts).
    package var silenceFallback: [SilenceFallback]
    /// What each provider's error codes mean (`ErrorClasses`).
    package var errorClasses: ErrorClasses.Table
    /// Low-urgency messages to one client due within this many seconds of each other go out as one
    /// digest per channel; nil: never. By default those due together (at the low-urgency hour).
    package var digestWindow: TimeInterval?
    /// The approved WhatsApp template for each message type, sent outside the 24-hour window.
    package var whatsappTemplates: [MessageType: WhatsAppTemplate]
    /// The rates `analytics.get` sets beside the actual ones.
    package var analyticsTargets: [AnalyticsTarget]
    /// How an SMS carries attachments: links, or MMS.
    package var smsAttachments = SMSAttachments()

    package init(
        channelOrder: [Urgency: [Channel]],
        messageTypeFirstChannel: [MessageType: Channel],
        basePriority: [Urgency: Int],
        priorityBoost: [MessageType: Int],
        businessHoursStart: LocalTime = LocalTime(hour: 9, minute: 0),
        businessHoursEnd: LocalTime = LocalTime(hour: 18, minute: 0),
        lowUrgencyTime: LocalTime = LocalTime(hour: 9, minute: 0),
        defaultQuietHoursStart: LocalTime = LocalTime(hour: 22, minute: 0),
        defaultQuietHoursEnd: LocalTime = LocalTime(hour: 8, minute: 0),
        retry: RetryPolicy = RetryPolicy(),
        rateLimits: [String: RateLimiter.Limit] = RateLimiter.seedLimits,
        silenceFallback: [SilenceFallback] = [],
        errorClasses: ErrorClasses.Table = ErrorClasses.seed,
        digestWindow: TimeInterval? = 0,
        whatsappTemplates: [MessageType: WhatsAppTemplate] = WhatsAppTemplate.seed,
        analyticsTargets: [AnalyticsTarget] = AnalyticsTarget.seed
    ) {
        self.channelOrder = channelOrder
        self.messageTypeFirstChannel = messageTypeFirstChannel
        self.basePriority = basePriority
        self.priorityBoost = priorityBoost
        self.businessHoursStart = businessHoursStart
        self.businessHoursEnd = businessHoursEnd
        self.lowUrgencyTime = lowUrgencyTime
        self.defaultQuietHoursStart = defaultQuietHoursStart
        self.defaultQuietHoursEnd = defaultQuietHoursEnd
        self.retry = retry
        self.rateLimits = rateLimits
        self.silenceFallback = silenceFallback
        self.errorClasses = errorClasses
        self.digestWindow = digestWindow
        self.whatsappTemplates = whatsappTemplates
        self.analyticsTargets = analyticsTargets
    }

    /// The preferences of a client who has stored none.
    package func defaultPreferences(for clientID: UUID) -> ClientPreferences {
        ClientPreferences(clientID: clientID, quietHoursStart: defaultQuietHoursStart, quietHoursEnd: defaultQuietHoursEnd)
    }

    package static let seed = Policy(
        channelOrder: [
            .critical: [.sms, .whatsapp, .email],
            .high: [.whatsapp, .email, .sms],
            .normal: [.email, .whatsapp, .sms],
            .low: [.email, .whatsapp, .sms],
        ],
        messageTypeFirstChannel: [
            .budgetSummary: .email,
            .vendorOptions: .email,
            .blueprintDelivery: .email,
            .selectionConfirmation: .sms,
            .reminder: .sms,
        ],
        basePriority: [.critical: 10, .high: 7, .normal: 5, .low: 2],
        priorityBoost: [.errorNotification: 2, .blueprintDelivery: 1]
    )
}
