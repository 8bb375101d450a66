import CRMModel
import Foundation
import Orchestrator

/// `communications.cancel`: stop a communication that has not been sent; answers with its status
/// afterwards (`cancelled`, or the status it had already reached).
package enum CommunicationsCancel: RPCMethod {
    package static let name = "communications.cancel"

    package struct Params: RPCParams {
        var communicationID: UUID

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case communicationID = "communication_id"
        }
    }

    package struct Result: Encodable, Sendable {
        var communicationID: UUID
        var status: CommunicationStatus

        enum CodingKeys: String, CodingKey {
            case communicationID = "communication_id"
            case status
        }
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        do {
            let status = try await context.engine.cancel(params.communicationID)
            return Result(communicationID: params.communicationID, status: status)
        } catch {
            throw RPCError(error)
        }
    }
}
