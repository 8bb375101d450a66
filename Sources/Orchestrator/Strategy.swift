package import CRMModel
package import Foundation

/// Decides, without any I/O, which channels to try in which order, when, and how urgently.
package struct Strategy: Sendable {
    package var policy: Policy

    package init(policy: Policy = .seed) {
        self.policy = policy
    }

    /// The decision for `request` sent to a client with `preferences` at `now`.
    ///
    /// The order is built in layers, each with its reason: the urgency's table order; the message
    /// type's own channel moved first; the client's preferred channels before the others (in table
    /// order); the request's `preferred_channel` before all. Then opted-out channels and channels with
    /// no address for the client are dropped. When nothing is left, the communication cannot be
    /// delivered and `NoDeliverableChannel` says why for each channel.
    package func decide(
        _ request: CommunicationRequest,
        preferences: ClientPreferences,
        now: Date,
        requestedSendAt: Date? = nil
    ) throws(NoDeliverableChannel) -> Decision {
        var reasons: [String] = []
        var order = policy.channelOrder[request.urgency] ?? Channel.allCases
        reasons.append("urgency \(request.urgency.rawValue) orders \(Self.list(order))")

        if let first = policy.messageTypeFirstChannel[request.messageType], order.first != first {
            order.removeAll { $0 == first }
            order.insert(first, at: 0)
            reasons.append("message type \(request.messageType.rawValue) puts \(first.rawValue) first")
        }

        let preferred = order.filter { preferences.preferredChannels.contains($0) }
        if !preferred.isEmpty, preferred != Array(order.prefix(preferred.count)) {
            order = preferred + order.filter { !preferred.contains($0) }
            reasons.append("client prefers \(Self.list(preferred))")
        }

        if let requested = request.preferredChannel, order.first != requested {
            order.removeAll { $0 == requested }
            order.insert(requested, at: 0)
            reasons.append("request asks for \(requested.rawValue) first")
        }

        var skipped: [String] = []
        let channels = order.filter { channel in
            if preferences.isOptedOut(of: channel) {
                skipped.append("\(channel.rawValue) skipped: client opted out")
                return false
            }
            if request.recipient.address(for: channel) == nil {
                skipped.append("\(channel.rawValue) skipped: no \(Self.addressName(channel)) for the client")
                return false
            }
            return true
        }
        reasons.append(contentsOf: skipped)
        guard !channels.isEmpty else { throw NoDeliverableChannel(reasons: skipped) }

        let priority = min(10, (policy.basePriority[request.urgency] ?? 5) + (policy.priorityBoost[request.messageType] ?? 0))
        reasons.append("channels in order: \(Self.list(channels)); priority \(priority)")
        let timing = sendTime(request.urgency, preferences: preferences, now: now, requested: requestedSendAt)
        reasons.append(contentsOf: timing.reasons)
        let sendAt = timing.at
        return Decision(
            channels: channels, sendAt: sendAt, priority: priority, reasons: reasons, language: preferences.languagePreference
        )
    }

    /// When to send, in the client's time zone: critical now, whatever the hour; high now; normal
    /// within business hours; low at the policy's time of day. A requested time replaces the
    /// urgency's rule. Then quiet hours defer everything but critical to their end.
    func sendTime(
        _ urgency: Urgency, preferences: ClientPreferences, now: Date, requested: Date?
    ) -> (at: Date, reasons: [String]) {
        let clock = LocalClock(preferences.timezone)
        let zone = preferences.timezone.identifier
        var at = now
        var reasons: [String] = []
        if let requested, requested > now {
            at = requested
            reasons.append("request asks to send at \(WireJSON.format(requested))")
        } else if requested != nil {
            reasons.append("requested send time has passed; sending now")
        } else {
            switch urgency {
            case .critical, .high:
                break
            case .normal:
                let (start, end) = (policy.businessHoursStart, policy.businessHoursEnd)
                if !clock.isWithin(start, end, at: at) {
                    at = clock.next(start, after: at)
                    reasons.append("normal urgency waits for business hours \(start)-\(end) \(zone): \(WireJSON.format(at))")
                }
            case .low:
                let time = policy.lowUrgencyTime
                if clock.minutes(at: at) != time.minutesSinceMidnight {
                    at = clock.next(time, after: at)
                    reasons.append("low urgency is sent at \(time) \(zone): \(WireJSON.format(at))")
                }
            }
        }
        let (quietStart, quietEnd) = (preferences.quietHoursStart, preferences.quietHoursEnd)
        if clock.isWithin(quietStart, quietEnd, at: at) {
            if urgency == .critical {
                reasons.append("critical: sent during quiet hours \(quietStart)-\(quietEnd) \(zone)")
            } else {
                at = clock.next(quietEnd, after: at)
                reasons.append("quiet hours \(quietStart)-\(quietEnd) \(zone): deferred to \(WireJSON.format(at))")
            }
        }
        if at <= now { reasons.append("send now") }
        return (at, reasons)
    }

    private static func list(_ channels: [Channel]) -> String {
        channels.map(\.rawValue).joined(separator: ", ")
    }

    private static func addressName(_ channel: Channel) -> String {
        switch channel {
        case .email: "email address"
        case .sms: "phone number"
        case .whatsapp: "WhatsApp number"
        }
    }
}
