import Channels
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Orchestrator

/// `POST /webhooks/twilio`: status callbacks and inbound messages, verified by X-Twilio-Signature
/// over the URL Twilio called and the raw body before anything in them is believed.
struct TwilioWebhook: Sendable {
    var signature: TwilioSignature?
    var publicBaseURL: String
    var maxBodyBytes: Int
    var intake: EventIntake
    var logger: Logger

    /// An empty TwiML document: Twilio reads the answer to an inbound message as instructions, and
    /// this one says to reply nothing.
    static let emptyTwiML = #"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#

    func handle(_ request: Request) async throws -> Response {
        var request = request
        let body = Data(try await request.collectBody(upTo: maxBodyBytes).readableBytesView)
        let url = publicBaseURL + request.uri.string
        guard let signature,
            signature.isValid(
                signature: request.headers[.twilioSignature] ?? "", url: url, body: body, contentType: request.headers[.contentType]
            )
        else {
            logger.warning("refused a Twilio callback with a missing or wrong signature")
            return Responses.status(.forbidden)
        }
        guard let fields = FormEncoding.decode(body) else { return Responses.status(.badRequest) }
        do {
            try await intake.apply(TwilioCallback.events(from: fields, receivedAt: Date()))
        } catch {
            logger.error("could not record a Twilio callback; Twilio will send it again", metadata: ["error": "\(error)"])
            return Responses.tryAgain
        }
        return Responses.text(Self.emptyTwiML, contentType: "text/xml; charset=utf-8")
    }
}

extension HTTPField.Name {
    static let twilioSignature = Self("X-Twilio-Signature")!
    static let hubSignature256 = Self("X-Hub-Signature-256")!
}
