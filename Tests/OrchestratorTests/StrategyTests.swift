import CRMModel
import Foundation
import Orchestrator
import Testing

@Suite("The strategy orders channels by the seed's policy")
struct StrategyTests {
    let strategy = Strategy()
    let now = Date(timeIntervalSince1970: 1_764_052_331)
    let client = UUID()
    let everywhere = Recipient(
        email: try! EmailAddress(validating: "priya@example.com"),
        phone: try! PhoneNumber(validating: "+919876543210")
    )

    func decide(
        _ type: MessageType = .welcome,
        _ urgency: Urgency,
        recipient: Recipient? = nil,
        preferred: Channel? = nil,
        preferences: ClientPreferences? = nil
    ) throws -> Decision {
        let request = CommunicationRequest(
            planID: UUID(), clientID: client, messageType: type, urgency: urgency,
            recipient: recipient ?? everywhere, preferredChannel: preferred
        )
        return try strategy.decide(request, preferences: preferences ?? ClientPreferences(clientID: client), now: now)
    }

    @Test("each urgency has its order", arguments: [
        (Urgency.critical, [Channel.sms, .whatsapp, .email]),
        (.high, [.whatsapp, .email, .sms]),
        (.normal, [.email, .whatsapp, .sms]),
        (.low, [.email, .whatsapp, .sms]),
    ])
    func urgencyOrder(_ urgency: Urgency, _ order: [Channel]) throws {
        #expect(try decide(.welcome, urgency).channels == order)
    }

    @Test("a message type's own channel goes first", arguments: [
        (MessageType.budgetSummary, Urgency.critical, [Channel.email, .sms, .whatsapp]),
        (.vendorOptions, .high, [.email, .whatsapp, .sms]),
        (.blueprintDelivery, .normal, [.email, .whatsapp, .sms]),
        (.selectionConfirmation, .normal, [.sms, .email, .whatsapp]),
        (.reminder, .high, [.sms, .whatsapp, .email]),
        (.errorNotification, .high, [.whatsapp, .email, .sms]),
    ])
    func messageTypeFirst(_ type: MessageType, _ urgency: Urgency, _ order: [Channel]) throws {
        #expect(try decide(type, urgency).channels == order)
    }

    @Test("the client's preferred channels come first, in table order")
    func clientPreferences() throws {
        let preferences = ClientPreferences(clientID: client, preferredChannels: [.sms, .whatsapp])
        let decision = try decide(.welcome, .normal, preferences: preferences)
        #expect(decision.channels == [.whatsapp, .sms, .email])
        #expect(decision.reasons.contains("client prefers whatsapp, sms"))
    }

    @Test("the request's preferred channel comes before all")
    func requestPreference() throws {
        let preferences = ClientPreferences(clientID: client, preferredChannels: [.whatsapp])
        let decision = try decide(.budgetSummary, .normal, preferred: .sms, preferences: preferences)
        #expect(decision.channels == [.sms, .whatsapp, .email])
    }

    @Test("opted-out channels are never used, even when preferred or requested")
    func optOuts() throws {
        let preferences = ClientPreferences(clientID: client, preferredChannels: [.sms], optOutSMS: true)
        let decision = try decide(.welcome, .critical, preferred: .sms, preferences: preferences)
        #expect(decision.channels == [.whatsapp, .email])
        #expect(decision.reasons.contains("sms skipped: client opted out"))
    }

    @Test("channels without an address are skipped; WhatsApp falls back to the phone")
    func addresses() throws {
        let emailOnly = Recipient(email: try EmailAddress(validating: "priya@example.com"))
        #expect(try decide(.welcome, .critical, recipient: emailOnly).channels == [.email])
        let phoneOnly = Recipient(phone: try PhoneNumber(validating: "+14155552671"))
        #expect(try decide(.welcome, .high, recipient: phoneOnly).channels == [.whatsapp, .sms])
    }

    @Test("with every channel opted out there is no deliverable channel, with a reason for each")
    func nothingLeft() {
        let preferences = ClientPreferences(clientID: client, optOutEmail: true, optOutSMS: true, optOutWhatsApp: true)
        #expect(throws: NoDeliverableChannel(reasons: [
            "sms skipped: client opted out", "whatsapp skipped: client opted out", "email skipped: client opted out",
        ])) {
            try decide(.welcome, .critical, preferences: preferences)
        }
    }

    @Test("priority follows urgency, raised for errors and blueprints, at most 10", arguments: [
        (MessageType.welcome, Urgency.critical, 10), (.welcome, .high, 7), (.welcome, .normal, 5), (.welcome, .low, 2),
        (.errorNotification, .normal, 7), (.blueprintDelivery, .low, 3), (.errorNotification, .critical, 10),
    ])
    func priority(_ type: MessageType, _ urgency: Urgency, _ expected: Int) throws {
        #expect(try decide(type, urgency).priority == expected)
    }

    @Test("every decision says why")
    func reasons() throws {
        let decision = try decide(.budgetSummary, .critical)
        #expect(decision.reasons.first == "urgency critical orders sms, whatsapp, email")
        #expect(decision.reasons.contains("message type budget_summary puts email first"))
        #expect(decision.sendAt == now)
    }
}
