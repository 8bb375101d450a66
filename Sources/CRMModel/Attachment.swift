public import Foundation

/// A file sent with an email: `{filename, content_type, data}` on the wire, `data` in base64.
///
/// Only the kinds the design allows travel (PDF, PNG, JPEG, GIF, plain text, JSON), named with a
/// matching extension; a name is a plain file name, never a path, and never holds a line break (it
/// becomes a MIME header parameter).
public struct Attachment: Sendable, Equatable, Codable {
    public var filename: String
    public var contentType: String
    public var data: Data

    /// The largest total of attachment bytes one communication may carry (DESIGN.md: 10 MB).
    public static let maxTotalBytes = 10 * 1024 * 1024

    /// content type -> the file name extensions it may have.
    public static let allowedTypes: [String: Set<String>] = [
        "application/pdf": ["pdf"],
        "image/png": ["png"],
        "image/jpeg": ["jpg", "jpeg"],
        "image/gif": ["gif"],
        "text/plain": ["txt"],
        "application/json": ["json"],
    ]

    public init(filename: String, contentType: String, data: Data) throws(FieldError) {
        if filename.isEmpty || filename.utf8.count > 255 {
            throw FieldError(field: "filename", reason: "must be 1 to 255 bytes")
        }
        if filename.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == "/" || $0 == "\\" }) {
            throw FieldError(field: "filename", reason: "must be a plain file name: no line breaks, control characters or path separators")
        }
        let type = contentType.lowercased()
        guard let extensions = Self.allowedTypes[type] else {
            throw FieldError(field: "content_type", reason: "is not an accepted type; accepted: \(Self.allowedTypes.keys.sorted().joined(separator: ", "))")
        }
        let suffix = filename.split(separator: ".").last.map { $0.lowercased() } ?? ""
        guard filename.contains("."), extensions.contains(suffix) else {
            throw FieldError(field: "filename", reason: "must end in .\(extensions.sorted().joined(separator: " or .")) for \(type)")
        }
        self.filename = filename
        self.contentType = type
        self.data = data
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let filename = try container.decode(String.self, forKey: .filename)
        let contentType = try container.decode(String.self, forKey: .contentType)
        let encoded = try container.decode(String.self, forKey: .data)
        guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters), !encoded.isEmpty || data.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [CodingKeys.data], debugDescription: "must be base64 (RFC 4648)"))
        }
        do {
            try self.init(filename: filename, contentType: contentType, data: data)
        } catch {
            let key: CodingKeys = error.field == "content_type" ? .contentType : .filename
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [key], debugDescription: error.reason))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(filename, forKey: .filename)
        try container.encode(contentType, forKey: .contentType)
        try container.encode(data.base64EncodedString(), forKey: .data)
    }

    enum CodingKeys: String, CodingKey {
        case filename
        case contentType = "content_type"
        case data
    }
}
