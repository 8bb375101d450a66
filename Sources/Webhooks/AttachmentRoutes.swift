import Channels
import CRMModel
import Foundation
import Hummingbird
import Logging

/// Attachments sent as links where the channel cannot carry the file (SMS, and Twilio fetching MMS
/// media): `GET /attachments/{token}/{position}/{expires}/{name}`. A forged, altered or expired link,
/// and one whose communication was erased or purged, all get the same 404, which tells nothing.
struct AttachmentRoutes: Sendable {
    var links: EmailLinks
    var attachments: @Sendable (UUID) async throws -> [Attachment]
    var logger: Logger

    /// RFC 8187's attr-char: ASCII letters, digits and a few marks; everything else percent-encoded as UTF-8.
    static let attrChar = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~")

    func serve(_ request: Request, parameters: Parameters) async -> Response {
        guard let (id, position) = links.verifyAttachment(
            token: parameters.get("token") ?? "", position: parameters.get("position") ?? "", expires: parameters.get("expires") ?? "",
            at: Date()
        ) else { return Responses.status(.notFound) }
        let files: [Attachment]
        do {
            files = try await attachments(id)
        } catch {
            logger.error("could not read an attachment for its link", metadata: ["communication.id": "\(id.canonicalString)", "error": "\(error)"])
            return Responses.status(.serviceUnavailable)
        }
        guard files.indices.contains(position) else { return Responses.status(.notFound) }
        let file = files[position]
        logger.info("attachment fetched by its link", metadata: ["communication.id": "\(id.canonicalString)", "position": "\(position)"])
        return Response(
            status: .ok,
            headers: [
                .contentType: file.contentType, .cacheControl: "private, no-store", .init("X-Content-Type-Options")!: "nosniff",
                .contentDisposition: "inline; filename*=UTF-8''" + (file.filename.addingPercentEncoding(withAllowedCharacters: Self.attrChar) ?? "file"),
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.data))
        )
    }
}
