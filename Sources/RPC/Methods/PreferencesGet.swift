package import CRMModel
import Foundation
import Orchestrator

/// `preferences.get`: a client's preferences, or the defaults (without `updated_at`) when none
/// were ever stored.
package enum PreferencesGet: RPCMethod {
    package static let name = "preferences.get"

    package struct Params: RPCParams {
        var clientID: UUID

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case clientID = "client_id"
        }
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> ClientPreferences {
        do {
            return try await context.engine.preferences(for: params.clientID)
        } catch {
            throw RPCError(error)
        }
    }
}
