package import Channels
import CRMModel
package import Foundation
package import Logging
package import Persistence

/// What providers and mail clients tell the side port, applied to the store and announced to the
/// workflow: delivery reports, opens and clicks, opt-outs, replies.
///
/// Every change goes through the store's forward-only rule first, so a duplicate, a replay or a late
/// receipt changes nothing and is announced nowhere. An announcement goes to the sidecar that
/// accepted the communication: this one, or another sharing the database (`Store.forward`).
/// A storage failure is thrown, so the webhook answers 5xx and the provider sends the event again.
///
/// What a failure report means for the communication (fall back, or fail) is the `DeliveryMachine`'s
/// call, as at send time; an opt-out is saved through the consent cache, so the next send of any of
/// the client's communications sees it.
package struct EventIntake: Sendable {
    private let store: any Store
    private let events: any EngineEventSink
    private let consent: ConsentCache
    private let metrics: DeliveryMetrics
    private let now: @Sendable () -> Date
    private let logger: Logger

    package init(
        store: any Store, events: any EngineEventSink, consent: ConsentCache,
        metrics: DeliveryMetrics = DeliveryMetrics(), now: @escaping @Sendable () -> Date = { Date() }, logger: Logger
    ) {
        self.store = store
        self.events = events
        self.consent = consent
        self.metrics = metrics
        self.now = now
        self.logger = logger
    }

    package func apply(_ events: [ProviderEvent]) async throws(StoreError) {
        for event in events {
            switch event {
            case .report(let report): try await apply(report)
            case .inbound(let message): try await receive(message)
            }
        }
    }

    /// A provider's delivery report for a message it accepted; reports for messages this database
    /// never sent (another system's, or long forgotten) are ignored.
    package func apply(_ report: DeliveryReport) async throws(StoreError) {
        guard let id = try await store.communicationID(providerMessageID: report.providerMessageID) else {
            logger.debug("delivery report for an unknown message", metadata: ["channel": "\(report.channel.rawValue)"])
            return
        }
        if report.status == .failed || report.status == .bounced {
            guard let communication = try await store.communication(id: id) else { return }
            switch DeliveryMachine.receipt(report, for: communication) {
            case .ignore:
                return
            case .fallBack(let attempt):
                // The work is due at once; the send loop that claims it asks the machine for the next channel.
                _ = try await store.record(attempt, for: id, movingTo: nil)
                try await store.watchForReceipt(id, until: now())
                logger.notice("not delivered; falling back to the next channel", metadata: [
                    "communication.id": "\(id.canonicalString)", "channel": "\(report.channel.rawValue)",
                    "provider.code": "\(report.providerCode ?? "none")",
                ])
                return
            case .move:
                break
            }
        }
        try await move(id, to: report.status, channel: report.channel, detail: report.error, providerMessageID: report.providerMessageID, at: report.at)
    }

    /// An email's tracking pixel was fetched.
    package func emailOpened(_ id: UUID) async throws(StoreError) {
        try await move(id, to: .opened, channel: .email, detail: nil, at: now())
    }

    /// A link in an email was followed.
    package func emailClicked(_ id: UUID) async throws(StoreError) {
        try await move(id, to: .clicked, channel: .email, detail: nil, at: now())
    }

    /// The one-click unsubscribe of an email (RFC 8058): the client of that communication is opted
    /// out of email. Unknown or forgotten communications change nothing.
    package func unsubscribe(fromEmail id: UUID) async throws(StoreError) {
        guard let communication = try await store.communication(id: id) else { return }
        try await setConsent(of: communication.clientID, on: .email, optedOut: true, source: "email_unsubscribe", about: id)
    }

    /// A client's message: a consent keyword changes the client's opt-out for that channel; anything
    /// else is a reply for the workflow, with its intent. Either way WhatsApp's 24-hour window opens.
    ///
    /// The reply answers the message it was a reply to (WhatsApp's `context.id`), when that is one of
    /// the client's; otherwise, most likely, the client's latest communication.
    package func receive(_ message: InboundMessage) async throws(StoreError) {
        let clients = try await store.clients(withAddress: message.from)
        for client in clients {
            try await store.noteInbound(from: client, on: message.channel, at: message.at)
        }
        var answered: UUID?
        var client = clients.first
        if let inReplyTo = message.inReplyTo, let id = try await store.communicationID(providerMessageID: inReplyTo),
            let communication = try await store.communication(id: id), clients.contains(communication.clientID)
        {
            // Two clients may share a number: the one whose message was answered is the one writing.
            answered = id
            client = communication.clientID
        } else if let client {
            answered = try await store.communications(matching: CommunicationQuery(clientID: client, limit: 1)).items.first?.id
        }
        if message.selection == nil, let keyword = ConsentKeyword(message: message.text) {
            for client in clients {
                try await setConsent(
                    of: client, on: message.channel, optedOut: keyword == .optOut, source: "\(message.channel.rawValue)_keyword", about: answered
                )
            }
            return
        }
        let intent = ReplyIntent.classify(message.text)
        let reply = InboundReply(
            clientID: client, communicationID: answered, channel: message.channel, from: message.from, text: message.text,
            intent: message.selection == nil ? intent.kind.rawValue : ReplyIntent.Kind.selection.rawValue,
            selection: message.selection ?? message.quickReply ?? intent.selection.map { Selection(number: $0) }, at: message.at
        )
        // Stored (and logged) before the webhook is answered: a reply that comes while no workflow
        // listens is listed later. A provider's retry of the same message is stored and announced once.
        guard let stored = try await store.receive(reply, providerMessageID: message.providerMessageID) else { return }
        try await announce(.inbound(stored), about: answered)
    }

    /// Announces the events other sidecars asked this one to, until the store stops delivering
    /// them: each is read back from the log by its seq.
    package func relayForwarded() async {
        for await seq in store.forwardedEvents() {
            do {
                guard let event = try await store.event(seq: seq) else {
                    logger.warning("a forwarded event this version cannot read was not announced; events.list has it", metadata: ["seq": "\(seq)"])
                    continue
                }
                await events.publish(event)
            } catch {
                logger.warning("a forwarded event could not be read; events.list has it", metadata: ["seq": "\(seq)", "error": "\(error.description)"])
            }
        }
    }

    private func move(
        _ id: UUID, to status: CommunicationStatus, channel: Channel, detail: String?, providerMessageID: String? = nil, at: Date
    ) async throws(StoreError) {
        guard let change = try await store.move(id, to: status, channel: channel, detail: detail, providerMessageID: providerMessageID, at: at)
        else { return }
        if status == .delivered, let sent = try await store.communication(id: id)?.events.last(where: { $0.status == .sent }) {
            metrics.delivered(on: channel, after: at.timeIntervalSince(sent.at))
        }
        try await announce(.status(change), about: id)
    }

    private func setConsent(
        of clientID: UUID, on channel: Channel, optedOut: Bool, source: String, about communicationID: UUID?
    ) async throws(StoreError) {
        var preferences = try await store.preferences(for: clientID) ?? consent.defaults(clientID)
        guard preferences.isOptedOut(of: channel) != optedOut else { return }
        preferences.setOptedOut(optedOut, of: channel)
        let savedAt = now()
        preferences.updatedAt = savedAt
        // Opting back in is recorded (and audited) but has no notification of its own.
        let change = optedOut ? ConsentChange(clientID: clientID, channel: channel, source: source, at: savedAt) : nil
        let logged = try await store.save(preferences, source: source, announcing: change)
        consent.remember(preferences, readAt: savedAt)
        logger.notice(optedOut ? "client opted out" : "client opted back in", metadata: [
            "client.id": "\(clientID)", "channel": "\(channel.rawValue)", "source": "\(source)",
        ])
        if let logged { try await announce(.optedOut(logged), about: communicationID) }
    }

    /// Announces a logged event live: on this sidecar's stdout, or on that of the sidecar that
    /// accepted the communication, when it is another one still running.
    private func announce(_ event: EngineEvent, about communicationID: UUID?) async throws(StoreError) {
        if let seq = event.seq, try await store.forward(seq: seq, about: communicationID) { return }
        await events.publish(event)
    }
}
