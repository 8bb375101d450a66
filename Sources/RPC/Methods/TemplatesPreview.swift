import Channels
import CRMModel
import Foundation
import Orchestrator

/// `templates.preview`: a message type rendered for a channel from a given context, exactly as it
/// would be sent; nothing is stored or sent.
package enum TemplatesPreview: RPCMethod {
    package static let name = "templates.preview"

    package struct Params: RPCParams {
        var messageType: MessageType
        var channel: Channel
        var context: [String: JSONValue]?
        var language: String?
        /// WhatsApp only: whether the client wrote within the last 24 hours (free-form and interactive
        /// messages) or not (the approved template); true unless given.
        var replyWindowOpen: Bool?

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case messageType = "message_type"
            case channel
            case context
            case language
            case replyWindowOpen = "reply_window_open"
        }
    }

    package struct Result: Encodable, Sendable {
        var subject: String?
        var html: String?
        var text: String
        /// SMS only: how many segments the text takes (GSM-7 or UCS-2).
        var segments: Int?
        /// The JSON the provider would receive (WhatsApp's Cloud API body, Twilio's form fields).
        var payload: JSONValue?
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        if let language = params.language, language.count < 2 || language.count > 35 || !language.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            throw .invalidParams(FieldError(field: "language", reason: "must be a BCP 47 language tag such as en, hi or pt-BR"))
        }
        let rendered = context.engine.preview(
            params.messageType, for: params.channel, context: params.context ?? [:], language: params.language ?? "en"
        )
        let payload: JSONValue?
        do {
            payload = try context.engine.providerPayload(
                params.messageType, for: params.channel, context: params.context ?? [:], language: params.language ?? "en",
                replyWindowOpen: params.replyWindowOpen ?? true
            )
        } catch {
            // No approved template for the type: nothing would go outside the window.
            throw .invalidParams(FieldError(field: "reply_window_open", reason: error.message))
        }
        return Result(
            subject: rendered.subject, html: rendered.html, text: rendered.text,
            segments: params.channel == .sms ? SMSSegments.count(for: rendered.text) : nil, payload: payload
        )
    }
}
