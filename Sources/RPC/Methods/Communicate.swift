package import CRMModel
import Foundation
import Orchestrator

/// `communicate`: tell a client something on the best channel. Answers once the communication is
/// stored and, with `wait` (the default), its first send has an outcome; a communication due later
/// is answered `scheduled` with `scheduled_for`.
package enum Communicate: RPCMethod {
    package static let name = "communicate"

    package struct Params: RPCParams {
        var planID: UUID
        var clientID: UUID
        var messageType: MessageType
        var urgency: Urgency
        var recipient: Recipient
        var context: [String: JSONValue]?
        var preferredChannel: Channel?
        var sendAt: Date?
        var wait: Bool?
        var dryRun: Bool?
        var idempotencyKey: String?
        var attachments: [Attachment]?

        /// What the engine is asked to send; the rest of the params say when and how to answer.
        package var request: CommunicationRequest {
            CommunicationRequest(
                planID: planID,
                clientID: clientID,
                messageType: messageType,
                urgency: urgency,
                recipient: recipient,
                context: context ?? [:],
                preferredChannel: preferredChannel,
                idempotencyKey: idempotencyKey,
                attachments: attachments ?? []
            )
        }

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case planID = "plan_id"
            case clientID = "client_id"
            case messageType = "message_type"
            case urgency
            case recipient
            case context
            case preferredChannel = "preferred_channel"
            case sendAt = "send_at"
            case wait
            case dryRun = "dry_run"
            case idempotencyKey = "idempotency_key"
            case attachments
        }
    }

    /// A stored communication's state, or with `dry_run` only the decision.
    package enum Result: Encodable, Sendable {
        case communication(Outcome)
        case dryRun(Decision)

        enum CodingKeys: String, CodingKey {
            case dryRun = "dry_run"
            case decision
        }

        package func encode(to encoder: any Encoder) throws {
            switch self {
            case .communication(let outcome):
                try outcome.encode(to: encoder)
            case .dryRun(let decision):
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(true, forKey: .dryRun)
                try container.encode(decision, forKey: .decision)
            }
        }
    }

    package struct Outcome: Encodable, Sendable {
        var communicationID: UUID
        var status: CommunicationStatus
        var channelUsed: Channel?
        var scheduledFor: Date?
        var decision: Decision
        var attempts: [Attempt]

        enum CodingKeys: String, CodingKey {
            case communicationID = "communication_id"
            case status
            case channelUsed = "channel_used"
            case scheduledFor = "scheduled_for"
            case decision
            case attempts
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(communicationID, forKey: .communicationID)
            try container.encode(status, forKey: .status)
            // Always present, null until a channel has taken the message.
            try container.encode(channelUsed, forKey: .channelUsed)
            try container.encodeIfPresent(scheduledFor, forKey: .scheduledFor)
            try container.encode(decision, forKey: .decision)
            try container.encode(attempts, forKey: .attempts)
        }
    }

    /// The engine checks the request's rules (`RequestValidator`) before it decides anything, for
    /// `dry_run` too.
    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        let request = params.request
        do {
            if params.dryRun == true {
                return .dryRun(try await context.engine.decide(request, sendAt: params.sendAt))
            }
            let communication = try await context.engine.communicate(request, sendAt: params.sendAt, wait: params.wait ?? true)
            return .communication(Outcome(
                communicationID: communication.id,
                status: communication.status,
                channelUsed: communication.channelUsed,
                scheduledFor: communication.status == .scheduled ? communication.decision.sendAt : nil,
                decision: communication.decision,
                attempts: communication.attempts
            ))
        } catch {
            throw RPCError(error)
        }
    }
}
