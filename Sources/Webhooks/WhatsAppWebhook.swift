import Channels
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Orchestrator

/// `/webhooks/whatsapp`: Meta's subscription handshake (GET) and its notifications (POST), the
/// latter verified by X-Hub-Signature-256 over the raw body.
struct WhatsAppWebhook: Sendable {
    var signature: WhatsAppSignature?
    var verifyToken: String?
    var maxBodyBytes: Int
    var intake: EventIntake
    var logger: Logger

    /// Answers `hub.challenge` only to `hub.mode=subscribe` with our verify token.
    func verify(_ request: Request) -> Response {
        let query = Dictionary(
            (URLComponents(string: "http://side.port" + request.uri.string)?.queryItems ?? []).map { ($0.name, $0.value ?? "") },
            uniquingKeysWith: { first, _ in first }
        )
        guard let verifyToken, query["hub.mode"] == "subscribe", let challenge = query["hub.challenge"],
            ConstantTime.equal(Data((query["hub.verify_token"] ?? "").utf8), Data(verifyToken.utf8))
        else {
            logger.warning("refused a WhatsApp verification request")
            return Responses.status(.forbidden)
        }
        return Responses.text(challenge)
    }

    func handle(_ request: Request) async throws -> Response {
        var request = request
        let body = Data(try await request.collectBody(upTo: maxBodyBytes).readableBytesView)
        guard let signature, signature.isValid(header: request.headers[.hubSignature256], body: body) else {
            logger.warning("refused a WhatsApp notification with a missing or wrong signature")
            return Responses.status(.forbidden)
        }
        guard let notification = BoundedJSON.decode(WhatsAppNotification.self, from: body) else {
            return Responses.status(.badRequest)
        }
        do {
            try await intake.apply(notification.events(receivedAt: Date()))
        } catch {
            logger.error("could not record a WhatsApp notification; Meta will send it again", metadata: ["error": "\(error)"])
            return Responses.tryAgain
        }
        return Responses.status(.ok)
    }
}
