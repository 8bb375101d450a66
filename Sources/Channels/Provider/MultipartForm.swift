import CRMModel
import Foundation

/// A `multipart/form-data` body (RFC 7578): text fields and files, for uploads.
struct MultipartForm: Sendable {
    let boundary = "crm-sidecar-" + UUID().canonicalString
    private(set) var body = Data()

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func add(_ name: String, _ value: String) {
        part("Content-Disposition: form-data; name=\"\(name)\"\r\n\r\n", Data(value.utf8))
    }

    mutating func add(_ name: String, filename: String, contentType: String, data: Data) {
        // A quote or line break in a file name would end the parameter; HTML's form encoding escapes them.
        let quoted = filename.replacingOccurrences(of: "\"", with: "%22").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
        part("Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(quoted)\"\r\nContent-Type: \(contentType)\r\n\r\n", data)
    }

    /// The body with its closing boundary.
    var finished: Data {
        body + Data("--\(boundary)--\r\n".utf8)
    }

    private mutating func part(_ headers: String, _ content: Data) {
        body += Data("--\(boundary)\r\n\(headers)".utf8)
        body += content
        body += Data("\r\n".utf8)
    }
}
