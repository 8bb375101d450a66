import Channels
package import CRMModel
package import Foundation

/// A policy file (POLICY_FILE, JSON): each section present replaces that part of the seed's policy,
/// the rest stays as the seed has it. Unknown keys are refused, so a misspelt section is never
/// silently ignored.
///
/// ```json
/// {
///   "channel_order": {"critical": ["sms", "whatsapp", "email"]},
///   "message_type_first_channel": {"reminder": "sms"},
///   "priority": {"base": {"normal": 5}, "boost": {"error_notification": 2}},
///   "business_hours": {"start": "09:00", "end": "18:00"},
///   "default_quiet_hours": {"start": "22:00", "end": "08:00"},
///   "low_urgency_time": "09:00",
///   "retry": {"attempts_per_channel": 3, "delays_seconds": [60, 300, 900], "max_delay_seconds": 900,
///             "rate_limit_multiplier": 2, "jitter": 0.1},
///   "rate_limits": {"twilio": {"per_minute": 60}, "whatsapp": {"per_minute": 80}, "smtp": {"per_second": 10}},
///   "fallback_on_silence": [{"urgencies": ["critical"], "message_types": ["reminder"], "timeout_seconds": 900}],
///   "error_classes": {"twilio": {"21211": "invalid_recipient"}, "smtp": {"452": "rate_limited"}},
///   "low_urgency_digest": {"window_seconds": 3600},
///   "whatsapp_templates": {"reminder": {"name": "event_reminder", "language": "en_US",
///                                       "parameters": ["client_name", "deadline"], "header": "document"}},
///   "analytics_targets": [{"metric": "delivery_rate", "minimum": 0.95},
///                         {"metric": "open_rate", "channel": "email", "minimum": 0.6}],
///   "sms_attachments": {"mms": false, "link_expires_after_seconds": 604800}
/// }
/// ```
package struct PolicyFile: Decodable {
    struct Priority: Decodable {
        var base: [String: Int]?
        var boost: [String: Int]?
    }

    struct Hours: Decodable {
        var start: LocalTime
        var end: LocalTime
    }

    struct Retry: Decodable {
        var attemptsPerChannel: Int?
        var delaysSeconds: [Double]?
        var maxDelaySeconds: Double?
        var rateLimitMultiplier: Double?
        var jitter: Double?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case attemptsPerChannel = "attempts_per_channel"
            case delaysSeconds = "delays_seconds"
            case maxDelaySeconds = "max_delay_seconds"
            case rateLimitMultiplier = "rate_limit_multiplier"
            case jitter
        }

        init(from decoder: any Decoder) throws {
            try PolicyFile.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            attemptsPerChannel = try container.decodeIfPresent(Int.self, forKey: .attemptsPerChannel)
            delaysSeconds = try container.decodeIfPresent([Double].self, forKey: .delaysSeconds)
            maxDelaySeconds = try container.decodeIfPresent(Double.self, forKey: .maxDelaySeconds)
            rateLimitMultiplier = try container.decodeIfPresent(Double.self, forKey: .rateLimitMultiplier)
            jitter = try container.decodeIfPresent(Double.self, forKey: .jitter)
        }
    }

    struct RateLimit: Decodable {
        var perSecond: Int?
        var perMinute: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case perSecond = "per_second"
            case perMinute = "per_minute"
        }

        init(from decoder: any Decoder) throws {
            try PolicyFile.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            perSecond = try container.decodeIfPresent(Int.self, forKey: .perSecond)
            perMinute = try container.decodeIfPresent(Int.self, forKey: .perMinute)
        }
    }

    struct Silence: Decodable {
        var urgencies: [Urgency]
        var messageTypes: [MessageType]?
        var timeoutSeconds: Double

        enum CodingKeys: String, CodingKey, CaseIterable {
            case urgencies
            case messageTypes = "message_types"
            case timeoutSeconds = "timeout_seconds"
        }

        init(from decoder: any Decoder) throws {
            try PolicyFile.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            urgencies = try container.decode([Urgency].self, forKey: .urgencies)
            messageTypes = try container.decodeIfPresent([MessageType].self, forKey: .messageTypes)
            timeoutSeconds = try container.decode(Double.self, forKey: .timeoutSeconds)
        }
    }

    var channelOrder: [String: [Channel]]?
    var messageTypeFirstChannel: [String: Channel]?
    var priority: Priority?
    var businessHours: Hours?
    var lowUrgencyTime: LocalTime?
    var defaultQuietHours: Hours?
    var retry: Retry?
    var rateLimits: [String: RateLimit]?
    var fallbackOnSilence: [Silence]?
    var errorClasses: [String: [String: String]]?
    var lowUrgencyDigest: Digest?
    var whatsappTemplates: [String: Template]?
    var analyticsTargets: [Target]?
    var smsAttachments: Attachments?

    struct Attachments: Decodable {
        var mms: Bool?
        var linkExpiresAfterSeconds: Double?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case mms
            case linkExpiresAfterSeconds = "link_expires_after_seconds"
        }

        init(from decoder: any Decoder) throws {
            try PolicyFile.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            mms = try container.decodeIfPresent(Bool.self, forKey: .mms)
            linkExpiresAfterSeconds = try container.decodeIfPresent(Double.self, forKey: .linkExpiresAfterSeconds)
        }
    }

    struct Target: Decodable {
        var metric: String
        var channel: Channel?
        var minimum: Double

        enum CodingKeys: String, CodingKey, CaseIterable {
            case metric, channel, minimum
        }

        init(from decoder: any Decoder) throws {
            try PolicyFile.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            metric = try container.decode(String.self, forKey: .metric)
            channel = try container.decodeIfPresent(Channel.self, forKey: .channel)
            minimum = try container.decode(Double.self, forKey: .minimum)
        }
    }

    struct Template: Decodable {
        var name: String
        var language: String?
        var parameters: [String]?
        /// `document` or `image` for a template approved with a media header; absent or null: none.
        var header: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, language, parameters, header
        }

        init(from decoder: any Decoder) throws {
            try PolicyFile.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            language = try container.decodeIfPresent(String.self, forKey: .language)
            parameters = try container.decodeIfPresent([String].self, forKey: .parameters)
            header = try container.decodeIfPresent(String.self, forKey: .header)
        }
    }

    struct Digest: Decodable {
        /// nil: no digests.
        var windowSeconds: Double?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case windowSeconds = "window_seconds"
        }

        init(from decoder: any Decoder) throws {
            try PolicyFile.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            windowSeconds = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(Double.self, forKey: .windowSeconds)
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case channelOrder = "channel_order"
        case messageTypeFirstChannel = "message_type_first_channel"
        case priority
        case businessHours = "business_hours"
        case lowUrgencyTime = "low_urgency_time"
        case defaultQuietHours = "default_quiet_hours"
        case retry
        case rateLimits = "rate_limits"
        case fallbackOnSilence = "fallback_on_silence"
        case errorClasses = "error_classes"
        case lowUrgencyDigest = "low_urgency_digest"
        case whatsappTemplates = "whatsapp_templates"
        case analyticsTargets = "analytics_targets"
        case smsAttachments = "sms_attachments"
    }

    package init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        channelOrder = try container.decodeIfPresent([String: [Channel]].self, forKey: .channelOrder)
        messageTypeFirstChannel = try container.decodeIfPresent([String: Channel].self, forKey: .messageTypeFirstChannel)
        priority = try container.decodeIfPresent(Priority.self, forKey: .priority)
        businessHours = try container.decodeIfPresent(Hours.self, forKey: .businessHours)
        lowUrgencyTime = try container.decodeIfPresent(LocalTime.self, forKey: .lowUrgencyTime)
        defaultQuietHours = try container.decodeIfPresent(Hours.self, forKey: .defaultQuietHours)
        retry = try container.decodeIfPresent(Retry.self, forKey: .retry)
        rateLimits = try container.decodeIfPresent([String: RateLimit].self, forKey: .rateLimits)
        fallbackOnSilence = try container.decodeIfPresent([Silence].self, forKey: .fallbackOnSilence)
        errorClasses = try container.decodeIfPresent([String: [String: String]].self, forKey: .errorClasses)
        lowUrgencyDigest = try container.decodeIfPresent(Digest.self, forKey: .lowUrgencyDigest)
        whatsappTemplates = try container.decodeIfPresent([String: Template].self, forKey: .whatsappTemplates)
        analyticsTargets = try container.decodeIfPresent([Target].self, forKey: .analyticsTargets)
        smsAttachments = try container.decodeIfPresent(Attachments.self, forKey: .smsAttachments)
    }

    static func refuseUnknownKeys(in decoder: any Decoder, known: [String]) throws {
        for key in try decoder.container(keyedBy: AnyCodingKey.self).allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath + [key], debugDescription: "is not a policy setting; accepted: \(known.joined(separator: ", "))"
            ))
        }
    }

    /// The seed's policy with this file's sections put in.
    package func applied(to base: Policy) throws(FieldError) -> Policy {
        var policy = base
        func urgency(_ name: String, _ section: String) throws(FieldError) -> Urgency {
            guard let value = Urgency(rawValue: name) else {
                throw FieldError(field: "\(section).\(name)", reason: "is not an urgency; accepted: \(Urgency.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return value
        }
        func messageType(_ name: String, _ section: String) throws(FieldError) -> MessageType {
            guard let value = MessageType(rawValue: name) else {
                throw FieldError(field: "\(section).\(name)", reason: "is not a message type; accepted: \(MessageType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return value
        }
        for (name, order) in channelOrder ?? [:] {
            guard !order.isEmpty, Set(order).count == order.count else {
                throw FieldError(field: "channel_order.\(name)", reason: "must list channels, each at most once")
            }
            policy.channelOrder[try urgency(name, "channel_order")] = order
        }
        for (name, channel) in messageTypeFirstChannel ?? [:] {
            policy.messageTypeFirstChannel[try messageType(name, "message_type_first_channel")] = channel
        }
        for (name, value) in priority?.base ?? [:] {
            guard (1...10).contains(value) else { throw FieldError(field: "priority.base.\(name)", reason: "must be 1 to 10") }
            policy.basePriority[try urgency(name, "priority.base")] = value
        }
        for (name, value) in priority?.boost ?? [:] {
            guard (0...9).contains(value) else { throw FieldError(field: "priority.boost.\(name)", reason: "must be 0 to 9") }
            policy.priorityBoost[try messageType(name, "priority.boost")] = value
        }
        if let businessHours {
            guard businessHours.start < businessHours.end else {
                throw FieldError(field: "business_hours", reason: "must start before it ends, within one day")
            }
            policy.businessHoursStart = businessHours.start
            policy.businessHoursEnd = businessHours.end
        }
        if let lowUrgencyTime { policy.lowUrgencyTime = lowUrgencyTime }
        // Quiet hours may span midnight, and equal start and end means none.
        if let defaultQuietHours {
            policy.defaultQuietHoursStart = defaultQuietHours.start
            policy.defaultQuietHoursEnd = defaultQuietHours.end
        }
        if let retry {
            if let attempts = retry.attemptsPerChannel {
                guard (1...20).contains(attempts) else { throw FieldError(field: "retry.attempts_per_channel", reason: "must be 1 to 20") }
                policy.retry.attemptsPerChannel = attempts
            }
            if let delays = retry.delaysSeconds {
                guard !delays.isEmpty, delays.allSatisfy({ $0 >= 0 && $0 <= 86_400 }) else {
                    throw FieldError(field: "retry.delays_seconds", reason: "must list waits from 0 to 86400 seconds")
                }
                policy.retry.delays = delays
            }
            if let maximum = retry.maxDelaySeconds {
                guard maximum >= 0 else { throw FieldError(field: "retry.max_delay_seconds", reason: "must be 0 or more") }
                policy.retry.maximumDelay = maximum
            }
            if let multiplier = retry.rateLimitMultiplier {
                guard multiplier >= 1 else { throw FieldError(field: "retry.rate_limit_multiplier", reason: "must be 1 or more") }
                policy.retry.rateLimitMultiplier = multiplier
            }
            if let jitter = retry.jitter {
                guard (0...0.5).contains(jitter) else { throw FieldError(field: "retry.jitter", reason: "must be 0 to 0.5") }
                policy.retry.jitter = jitter
            }
        }
        for (provider, limit) in rateLimits ?? [:] {
            switch (limit.perSecond, limit.perMinute) {
            case (let count?, nil) where count > 0: policy.rateLimits[provider] = .perSecond(count)
            case (nil, let count?) where count > 0: policy.rateLimits[provider] = .perMinute(count)
            default:
                throw FieldError(field: "rate_limits.\(provider)", reason: "must be {\"per_second\": N} or {\"per_minute\": N} with N above 0")
            }
        }
        if let rules = fallbackOnSilence {
            policy.silenceFallback = try rules.enumerated().map { (index, rule) throws(FieldError) -> SilenceFallback in
                guard !rule.urgencies.isEmpty, rule.timeoutSeconds >= 1 else {
                    throw FieldError(field: "fallback_on_silence[\(index)]", reason: "needs urgencies and a timeout_seconds of 1 or more")
                }
                return SilenceFallback(urgencies: Set(rule.urgencies), messageTypes: rule.messageTypes.map(Set.init), timeout: rule.timeoutSeconds)
            }
        }
        if let digest = lowUrgencyDigest {
            if let window = digest.windowSeconds, !(0...604_800).contains(window) {
                throw FieldError(field: "low_urgency_digest.window_seconds", reason: "must be 0 to 604800, or null for no digests")
            }
            policy.digestWindow = digest.windowSeconds
        }
        if let attachments = smsAttachments {
            if let mms = attachments.mms { policy.smsAttachments.mms = mms }
            if let seconds = attachments.linkExpiresAfterSeconds {
                guard (1...31_536_000).contains(seconds) else {
                    throw FieldError(field: "sms_attachments.link_expires_after_seconds", reason: "must be 1 to 31536000 (a year)")
                }
                policy.smsAttachments.linkLifetime = seconds
            }
        }
        for (name, template) in whatsappTemplates ?? [:] {
            let type = try messageType(name, "whatsapp_templates")
            guard !template.name.isEmpty, template.name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }) else {
                throw FieldError(field: "whatsapp_templates.\(name).name", reason: "must be a template name as Meta approved it: lowercase letters, digits and underscores")
            }
            var header: WhatsAppMedia?
            if let given = template.header {
                guard let kind = WhatsAppMedia(rawValue: given) else {
                    throw FieldError(field: "whatsapp_templates.\(name).header", reason: "must be document or image (or left out for none)")
                }
                header = kind
            }
            policy.whatsappTemplates[type] = WhatsAppTemplate(
                name: template.name, language: template.language, parameters: template.parameters ?? [], header: header
            )
        }
        if let targets = analyticsTargets {
            // The whole list: a file that names targets names all it wants shown.
            policy.analyticsTargets = try targets.enumerated().map { (index, target) throws(FieldError) -> AnalyticsTarget in
                guard let metric = AnalyticsTarget.Metric(rawValue: target.metric) else {
                    throw FieldError(
                        field: "analytics_targets[\(index)].metric",
                        reason: "is not a rate the report has; accepted: \(AnalyticsTarget.Metric.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                guard (0...1).contains(target.minimum) else {
                    throw FieldError(field: "analytics_targets[\(index)].minimum", reason: "must be a fraction from 0 to 1")
                }
                return AnalyticsTarget(metric: metric, channel: target.channel, minimum: target.minimum)
            }
        }
        // Code by code over the seed's table, so a file names only what it changes; a code listed
        // nowhere keeps ErrorClasses' default for its status.
        for (provider, codes) in errorClasses ?? [:] {
            for (code, name) in codes {
                guard let category = FailureCategory(rawValue: name) else {
                    throw FieldError(
                        field: "error_classes.\(provider).\(code)",
                        reason: "is not an error class; accepted: \(FailureCategory.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                policy.errorClasses[provider, default: [:]][code] = category
            }
        }
        return policy
    }

    /// Reads the policy file at `url` over `base`; every problem names the setting.
    package static func load(_ url: URL, over base: Policy = .seed) throws(FieldError) -> Policy {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw FieldError(field: "", reason: "cannot be read: \(error.localizedDescription)")
        }
        let file: PolicyFile
        do {
            file = try WireJSON.makeDecoder().decode(PolicyFile.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw FieldError(field: Self.path(context.codingPath), reason: context.codingPath.isEmpty ? "is not JSON" : context.debugDescription)
        } catch let DecodingError.typeMismatch(type, context) {
            throw FieldError(field: Self.path(context.codingPath), reason: "must be \(type)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw FieldError(field: Self.path(context.codingPath), reason: "must not be null")
        } catch let DecodingError.keyNotFound(key, context) {
            throw FieldError(field: Self.path(context.codingPath + [key]), reason: "is required")
        } catch {
            throw FieldError(field: "", reason: "is not a policy file: \(error)")
        }
        return try file.applied(to: base)
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.reduce(into: "") { path, key in
            if let index = key.intValue { path += "[\(index)]" } else { path += (path.isEmpty ? "" : ".") + key.stringValue }
        }
    }
}
