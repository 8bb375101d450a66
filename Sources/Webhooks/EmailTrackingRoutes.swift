import Channels
import Foundation
import Hummingbird
import Logging
import Orchestrator

/// The links in our emails: the open pixel, click redirects, and unsubscribe (RFC 8058). Each token
/// is checked before anything happens; a forged or altered one gets 404, and a click never redirects
/// anywhere the signed token does not name.
struct EmailTrackingRoutes: Sendable {
    var links: EmailLinks
    var intake: EventIntake
    var logger: Logger

    /// The smallest transparent GIF.
    static let pixel: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
        0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
        0x02, 0x44, 0x01, 0x00, 0x3B,
    ]

    func open(_ request: Request, token: String) async -> Response {
        guard let id = links.verify(token, .open) else { return Responses.status(.notFound) }
        await record { try await intake.emailOpened(id) }
        return Response(
            status: .ok, headers: [.contentType: "image/gif", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: Self.pixel))
        )
    }

    func click(_ request: Request, token: String) async -> Response {
        let target = URLComponents(string: "http://side.port" + request.uri.string)?.queryItems?.first { $0.name == "u" }?.value ?? ""
        guard let id = links.verify(token, .click, target: target), target.hasPrefix("https://") || target.hasPrefix("http://") else {
            return Responses.status(.notFound)
        }
        await record { try await intake.emailClicked(id) }
        return Response(status: .found, headers: [.location: target, .cacheControl: "no-store"])
    }

    /// A GET only asks: mail scanners and link previews fetch every link, and must not unsubscribe
    /// anyone. The page's button posts back, as a mail client's one-click unsubscribe does.
    func confirmUnsubscribe(_ request: Request, token: String) -> Response {
        guard links.verify(token, .unsubscribe) != nil else { return Responses.status(.notFound) }
        return Responses.html("""
            <!doctype html><html><head><meta charset="utf-8"><title>Unsubscribe</title></head><body>
            <p>Stop receiving emails about your event?</p>
            <form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">\
            <button type="submit">Unsubscribe</button></form>
            </body></html>
            """)
    }

    /// The one-click POST (`List-Unsubscribe=One-Click`): unsubscribes and answers directly, no
    /// redirect, as RFC 8058 asks.
    func unsubscribe(_ request: Request, token: String) async -> Response {
        guard let id = links.verify(token, .unsubscribe) else { return Responses.status(.notFound) }
        do {
            try await intake.unsubscribe(fromEmail: id)
        } catch {
            logger.error("could not record an unsubscribe", metadata: ["error": "\(error)"])
            return Responses.html("<!doctype html><p>Please try again in a minute.</p>", status: .serviceUnavailable)
        }
        return Responses.html("<!doctype html><html><body><p>You are unsubscribed; no more emails will be sent to you.</p></body></html>")
    }

    /// Opens and clicks are best effort: the reader gets the pixel or the page whatever the store says.
    private func record(_ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            logger.warning("could not record an email open or click", metadata: ["error": "\(error)"])
        }
    }
}
