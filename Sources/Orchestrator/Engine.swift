package import Channels
package import CRMModel
package import Foundation
package import Logging
package import Persistence

/// The sidecar's core: what the JSON-RPC methods ask of it. (What the side port hears goes through
/// `EventIntake`.)
///
/// `communicate` follows the data's way through: validate, decide, store durably, then send. Nothing
/// is acknowledged before the store has it.
package struct Engine: Sendable {
    private let store: any Store
    private let strategy: Strategy
    private let delivery: Delivery
    private let sendLoop: SendLoop
    private let events: any EngineEventSink
    private let leasing: WorkLeasing
    private let renderer: TemplateRenderer
    private let providers: ProviderRegistry
    private let health: ProviderHealth
    private let consent: ConsentCache
    private let now: @Sendable () -> Date
    private let sidePort: SidePortStatus?
    private let logger: Logger

    /// `leasing`, `renderer`, `providers`, `health` and `consent` are the ones `delivery` was made
    /// with: a communication sent at once is leased, rendered and checked as the send loop would.
    package init(
        store: any Store,
        strategy: Strategy,
        delivery: Delivery,
        sendLoop: SendLoop,
        events: any EngineEventSink,
        leasing: WorkLeasing,
        renderer: TemplateRenderer,
        providers: ProviderRegistry,
        health: ProviderHealth,
        consent: ConsentCache,
        now: @escaping @Sendable () -> Date = { Date() },
        sidePort: SidePortStatus? = nil,
        logger: Logger
    ) {
        self.sidePort = sidePort
        self.store = store
        self.strategy = strategy
        self.delivery = delivery
        self.sendLoop = sendLoop
        self.events = events
        self.leasing = leasing
        self.renderer = renderer
        self.providers = providers
        self.health = health
        self.consent = consent
        self.now = now
        self.logger = logger
    }

    /// Validates, decides, stores and sends (or schedules) a communication; with an idempotency key used before
    /// for the same request, returns that request's communication instead.
    ///
    /// The communication is durable before anything is sent or answered. Due now, it is stored
    /// already leased to this process, so no other sidecar claims it while it is being sent here:
    /// with `wait`, inline, answering with the first outcome; without, by the send loop, answering
    /// at once. Due later, it is stored unleased and the work queue sends it on time.
    package func communicate(
        _ request: CommunicationRequest, sendAt requested: Date? = nil, wait: Bool = true
    ) async throws(EngineError) -> Communication {
        let createdAt = now()
        let decision = try await decide(request, sendAt: requested, at: createdAt)
        let dueNow = decision.sendAt <= createdAt
        let communication = Communication(
            id: .timeOrdered(at: createdAt), request: request, decision: decision, status: dueNow ? .queued : .scheduled, createdAt: createdAt
        )
        let lease = dueNow ? leasing.lease(from: createdAt) : nil
        let fingerprint = request.idempotencyKey.map { _ in Idempotency.fingerprint(of: request, sendAt: requested) }
        let insertion = try await storing { () throws(StoreError) in
            try await store.insert(communication, attachments: request.attachments, leasedTo: lease, fingerprint: fingerprint)
        }
        let accepted: StatusChange
        switch insertion {
        case .inserted(let change):
            accepted = change
        case .existing(let id):
            // A repeat (a workflow node run again after a resume): the first request's
            // communication, as it stands, and nothing sent again.
            return try await self.communication(id: id)
        case .conflict:
            throw .idempotencyConflict("idempotency_key was used before for a different request; use a new key for a new message")
        }
        await events.publish(.status(accepted))
        guard let lease else { return communication }
        guard wait else {
            sendLoop.handOver(communication, lease: lease)
            return communication
        }
        do {
            return try await delivery.deliver(communication, lease: lease)
        } catch {
            // Stored and acknowledged already: the request has not failed. The lease runs out and the
            // work queue (here or in another sidecar) finishes the send once the database is back.
            logger.error(
                "cannot record the send; the work queue will finish it",
                metadata: ["communication.id": "\(communication.id.canonicalString)", "error": "\(error.description)"]
            )
            return communication
        }
    }

    /// What `communicate` would decide now, without storing or sending anything (`dry_run`).
    package func decide(_ request: CommunicationRequest, sendAt requested: Date? = nil) async throws(EngineError) -> Decision {
        try await decide(request, sendAt: requested, at: now())
    }

    private func decide(_ request: CommunicationRequest, sendAt requested: Date?, at now: Date) async throws(EngineError) -> Decision {
        do {
            try RequestValidator(renderer: renderer).validate(request)
        } catch {
            throw .invalid(error)
        }
        // The same view of the client's preferences the send will check its consent against.
        let preferences = try await storing { () throws(StoreError) in try await consent.preferences(of: request.clientID, at: now) }
        do {
            return try strategy.decide(request, preferences: preferences, now: now, requestedSendAt: requested)
        } catch {
            throw .noDeliverableChannel(error)
        }
    }

    package func communication(id: UUID) async throws(EngineError) -> Communication {
        let found = try await storing { () throws(StoreError) in try await store.communication(id: id) }
        guard let found else { throw .notFound("no communication has id \(id.canonicalString)") }
        return found
    }

    /// Cancels a communication that has not been sent; its status afterwards. Its work leaves the
    /// queue with the move, so no sidecar sends it later. (The store moves it only forward, so a
    /// send that wins the race keeps the communication sent.)
    package func cancel(_ id: UUID) async throws(EngineError) -> CommunicationStatus {
        let current = try await communication(id: id)
        guard case .finish(let status, let reason) = DeliveryMachine.cancel(current) else {
            return current.status
        }
        let at = now()
        let change = try await storing { () throws(StoreError) in
            try await store.move(id, to: status, channel: nil, detail: reason, at: at)
        }
        if let change {
            await events.publish(.status(change))
            let entry = AuditEntry(
                at: at, actor: .rpc, action: AuditEntry.communicationCancelled, clientID: change.clientID, communicationID: id,
                detail: "previous_status=\(change.previousStatus?.rawValue ?? "none")"
            )
            // Cancelled already: a trail that cannot be written is logged, not the caller's failure.
            if (try? await store.audit(entry)) == nil {
                logger.error("cannot audit a cancel", metadata: ["communication.id": "\(id.canonicalString)"])
            }
            return change.status
        }
        return try await communication(id: id).status
    }

    /// `messageType` rendered for `channel` from `context`, as it would be sent (`templates.preview`).
    package func preview(
        _ messageType: MessageType, for channel: Channel, context: [String: JSONValue], language: String = "en"
    ) -> RenderedMessage {
        renderer.render(messageType, for: channel, context: context, language: language)
    }

    /// What the provider of `channel` would receive for the rendered message, as JSON: the Cloud
    /// API's body for WhatsApp (inside the 24-hour window or outside it), Twilio's form fields for
    /// SMS; nil for email, which goes as a MIME message, not JSON. The recipient reads `<recipient>`.
    package func providerPayload(
        _ messageType: MessageType, for channel: Channel, context: [String: JSONValue], language: String, replyWindowOpen: Bool
    ) throws(ProviderError) -> JSONValue? {
        let message = OutboundMessage(
            communicationID: UUID(), attempt: 1, messageType: messageType, channel: channel, to: "<recipient>",
            content: preview(messageType, for: channel, context: context, language: language), language: language,
            replyWindowOpen: replyWindowOpen, context: context
        )
        switch channel {
        case .whatsapp:
            let payload = try WhatsAppPayload(message, templates: strategy.policy.whatsappTemplates, mediaIDs: [])
            guard let body = try payload.encoded().dropFirst(payload.primary).first else { return nil }
            return try? JSONDecoder().decode(JSONValue.self, from: body)
        case .sms:
            return .object(["To": .string(message.to), "Body": .string(message.content.text)])
        case .email:
            return nil
        }
    }

    package func communications(matching query: CommunicationQuery) async throws(EngineError) -> CommunicationPage {
        try await storing { () throws(StoreError) in try await store.communications(matching: query) }
    }

    /// The event log, a page at a time (`events.list`): what the workflow heard, or would have.
    package func events(matching query: EventQuery) async throws(EngineError) -> [LoggedEvent] {
        try await storing { () throws(StoreError) in try await store.events(matching: query) }
    }

    /// The client's stored preferences, or the defaults when none are stored, as the store has them now.
    package func preferences(for clientID: UUID) async throws(EngineError) -> ClientPreferences {
        let stored = try await storing { () throws(StoreError) in try await store.preferences(for: clientID) }
        return stored ?? consent.defaults(clientID)
    }

    /// Saves the change; from then on every send to the client (scheduled ones, retries and
    /// fallbacks included) sees it.
    package func updatePreferences(for clientID: UUID, with change: PreferencesChange) async throws(EngineError) -> ClientPreferences {
        var updated = change.applied(to: try await preferences(for: clientID))
        let savedAt = now()
        updated.updatedAt = savedAt
        try await storing { () throws(StoreError) in try await store.save(updated) }
        consent.remember(updated, readAt: savedAt)
        return updated
    }

    package func health() async -> HealthReport {
        let lists = providers.names
        let names = lists.mapValues { $0.joined(separator: ", ") }
        // A channel is down when none of its providers is usable.
        let problems = lists.compactMapValues { providers -> String? in
            let found = providers.compactMap { name in health.problem(of: name).map { "\(name): \($0)" } }
            return found.count == providers.count ? found.joined(separator: "; ") : nil
        }
        let sidePort = sidePort?.current
        let listening = if case .failed = sidePort { false } else { true }
        do {
            try await store.ping()
            return HealthReport(
                status: problems.isEmpty && listening ? .ok : .degraded, database: "ok", providers: names, providerProblems: problems,
                sidePort: sidePort
            )
        } catch {
            return HealthReport(status: .degraded, database: error.message, providers: names, providerProblems: problems, sidePort: sidePort)
        }
    }

    private func storing<T>(_ body: () async throws(StoreError) -> T) async throws(EngineError) -> T {
        do {
            return try await body()
        } catch {
            logger.error("storage failed", metadata: ["error": "\(error.description)"])
            throw .storageUnavailable(error.message)
        }
    }
}
