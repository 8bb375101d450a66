package import CRMModel
import Foundation
import Orchestrator

/// `clients.export`: everything stored about a client, decrypted (GDPR access and portability).
/// Inline, or written to a file when the caller names one.
package enum ClientsExport: RPCMethod {
    package static let name = "clients.export"
    /// Larger than this, the document goes to a file: a response line the size of a mailbox helps nobody.
    static let inlineLimit = 8 << 20

    package struct Params: RPCParams {
        var clientID: UUID
        var path: String?

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case clientID = "client_id"
            case path
        }
    }

    /// The document itself, or where it was written.
    package enum Result: Encodable, Sendable {
        case inline(ClientExport)
        case file(path: String, bytes: Int, sha256: String)

        enum CodingKeys: String, CodingKey {
            case path, bytes, sha256
        }

        package func encode(to encoder: any Encoder) throws {
            switch self {
            case .inline(let export):
                try export.encode(to: encoder)
            case .file(let path, let bytes, let sha256):
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(path, forKey: .path)
                try container.encode(bytes, forKey: .bytes)
                try container.encode(sha256, forKey: .sha256)
            }
        }
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        if let path = params.path, path.isEmpty {
            throw .invalidParams(FieldError(field: "path", reason: "must name a file, or be left out for the export inline"))
        }
        let export: ClientExport
        do {
            export = try await context.compliance.export(clientID: params.clientID)
        } catch {
            throw RPCError(error)
        }
        guard let path = params.path else {
            let size = (try? WireJSON.makeEncoder().encode(export).count) ?? 0
            guard size <= inlineLimit else {
                throw .invalidParams(FieldError(
                    field: "path", reason: "is needed: the export is \(size) bytes, more than the \(inlineLimit) returned inline"
                ))
            }
            try await audit(export, toFile: false, context: context)
            return .inline(export)
        }
        let data: Data
        do {
            data = try WireJSON.makeEncoder().encode(export)
        } catch {
            throw .internalError
        }
        let url = URL(fileURLWithPath: path)
        let digest: String
        do {
            digest = try ExportFile.write(data, to: url)
        } catch {
            throw .invalidParams(FieldError(field: "path", reason: "cannot be written: \(error.reason)"))
        }
        try await audit(export, toFile: true, context: context)
        return .file(path: url.path, bytes: data.count, sha256: digest)
    }

    private static func audit(_ export: ClientExport, toFile: Bool, context: MethodContext) async throws(RPCError) {
        do {
            try await context.compliance.handedOver(export, toFile: toFile)
        } catch {
            throw RPCError(error)
        }
    }
}
