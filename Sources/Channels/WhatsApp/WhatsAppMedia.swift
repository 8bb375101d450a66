package import CRMModel

/// What WhatsApp carries of the attachment types we accept, by Meta's documented limits
/// (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types):
/// PNG and JPEG as images up to 5 MB; PDF and plain text as documents up to 100 MB. GIF and JSON are
/// not WhatsApp media types.
package enum WhatsAppMedia: String, Sendable {
    case document
    case image

    package static func kind(of contentType: String) -> WhatsAppMedia? {
        switch contentType.lowercased() {
        case "image/png", "image/jpeg": .image
        case "application/pdf", "text/plain": .document
        default: nil
        }
    }

    package var maxBytes: Int {
        switch self {
        case .image: 5 * 1024 * 1024
        case .document: 100 * 1024 * 1024
        }
    }

    /// Why `attachment` cannot go by WhatsApp, or nil when it can.
    package static func problem(with attachment: Attachment) -> String? {
        guard let kind = kind(of: attachment.contentType) else {
            return "cannot go by WhatsApp: \(attachment.contentType) is not a WhatsApp media type; WhatsApp takes application/pdf, text/plain, image/png and image/jpeg"
        }
        guard attachment.data.count <= kind.maxBytes else {
            return "is over WhatsApp's \(kind.maxBytes / 1_048_576) MB limit for \(kind.rawValue)s"
        }
        return nil
    }
}
