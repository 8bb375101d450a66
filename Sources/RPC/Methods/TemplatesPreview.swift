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

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case messageType = "message_type"
            case channel
            case context
        }
    }

    package struct Result: Encodable, Sendable {
        var subject: String?
        var html: String?
        var text: String
        /// SMS only: how many segments the text takes (GSM-7 or UCS-2).
        var segments: Int?
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        let rendered = context.engine.preview(params.messageType, for: params.channel, context: params.context ?? [:])
        return Result(
            subject: rendered.subject, html: rendered.html, text: rendered.text,
            segments: params.channel == .sms ? SMSSegments.count(for: rendered.text) : nil
        )
    }
}
