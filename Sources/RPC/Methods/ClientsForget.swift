package import CRMModel
import Foundation
import Orchestrator

/// `clients.forget`: erases a client's personal data by crypto-shredding (GDPR erasure). Rows stay,
/// without personal data, for analytics; unsent communications are cancelled.
package enum ClientsForget: RPCMethod {
    package static let name = "clients.forget"

    package struct Params: RPCParams {
        var clientID: UUID
        /// Why, for the erasure record; not personal data.
        var reason: String?

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case clientID = "client_id"
            case reason
        }
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Erasure {
        if let reason = params.reason, reason.count > 200 {
            throw .invalidParams(FieldError(field: "reason", reason: "must be at most 200 characters"))
        }
        do {
            return try await context.compliance.forget(clientID: params.clientID, reason: params.reason)
        } catch {
            throw RPCError(error)
        }
    }
}
