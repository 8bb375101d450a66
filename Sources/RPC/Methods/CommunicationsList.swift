import CRMModel
import Foundation
import Orchestrator

/// `communications.list`: communications newest first, by plan, client or status, a page at a time.
package enum CommunicationsList: RPCMethod {
    package static let name = "communications.list"
    static let maximumLimit = 500

    package struct Params: RPCParams {
        var planID: UUID?
        var clientID: UUID?
        var status: CommunicationStatus?
        var limit: Int?
        var cursor: String?

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case planID = "plan_id"
            case clientID = "client_id"
            case status
            case limit
            case cursor
        }
    }

    package struct Result: Encodable, Sendable {
        var communications: [CommunicationSummary]
        var nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case communications
            case nextCursor = "next_cursor"
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(communications, forKey: .communications)
            try container.encode(nextCursor, forKey: .nextCursor)
        }
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        let limit = params.limit ?? 50
        guard (1...maximumLimit).contains(limit) else {
            throw .invalidParams(FieldError(field: "limit", reason: "must be from 1 to \(maximumLimit)"))
        }
        var after: PageCursor?
        if let token = params.cursor {
            guard let cursor = PageCursor(token: token) else {
                throw .invalidParams(FieldError(field: "cursor", reason: "is not a cursor this method returned as next_cursor"))
            }
            after = cursor
        }
        let query = CommunicationQuery(
            planID: params.planID, clientID: params.clientID, status: params.status, limit: limit, after: after
        )
        do {
            let page = try await context.engine.communications(matching: query)
            return Result(communications: page.items, nextCursor: page.next?.token)
        } catch {
            throw RPCError(error)
        }
    }
}
