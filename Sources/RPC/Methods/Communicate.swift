import CRMModel
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
        }
    }

    package struct Result: Encodable, Sendable {
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

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        if params.recipient.isEmpty {
            throw .invalidParams(FieldError(field: "recipient", reason: "must have at least one of email, phone, whatsapp"))
        }
        let request = CommunicationRequest(
            planID: params.planID,
            clientID: params.clientID,
            messageType: params.messageType,
            urgency: params.urgency,
            recipient: params.recipient,
            context: params.context ?? [:],
            preferredChannel: params.preferredChannel
        )
        do {
            let communication = try await context.engine.communicate(request, sendAt: params.sendAt, wait: params.wait ?? true)
            return Result(
                communicationID: communication.id,
                status: communication.status,
                channelUsed: communication.channelUsed,
                scheduledFor: communication.status == .scheduled ? communication.decision.sendAt : nil,
                decision: communication.decision,
                attempts: communication.attempts
            )
        } catch {
            throw RPCError(error)
        }
    }
}
