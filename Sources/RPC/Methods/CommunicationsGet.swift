package import CRMModel
import Foundation
import Orchestrator

/// `communications.get`: one communication with its attempts and timeline.
package enum CommunicationsGet: RPCMethod {
    package static let name = "communications.get"

    package struct Params: RPCParams {
        var communicationID: UUID

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case communicationID = "communication_id"
        }
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Communication {
        do {
            return try await context.engine.communication(id: params.communicationID)
        } catch {
            throw RPCError(error)
        }
    }
}
