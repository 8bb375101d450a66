import CRMModel
import Foundation
import Orchestrator

/// `audit.list`: the audit trail, oldest first, a page at a time.
package enum AuditList: RPCMethod {
    package static let name = "audit.list"
    static let maximumLimit = 1000

    package struct Params: RPCParams {
        var clientID: UUID?
        var action: String?
        var since: Date?
        var until: Date?
        var cursor: String?
        var limit: Int?

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case clientID = "client_id"
            case action, since, until, cursor, limit
        }
    }

    package struct Result: Encodable, Sendable {
        var entries: [AuditEntry]
        var nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case entries
            case nextCursor = "next_cursor"
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(entries, forKey: .entries)
            try container.encode(nextCursor, forKey: .nextCursor)
        }
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        let limit = params.limit ?? 100
        guard (1...maximumLimit).contains(limit) else {
            throw .invalidParams(FieldError(field: "limit", reason: "must be from 1 to \(maximumLimit)"))
        }
        if let action = params.action, !AuditEntry.actions.contains(action) {
            throw .invalidParams(FieldError(field: "action", reason: "is not an audited action; expected one of \(AuditEntry.actions.joined(separator: ", "))"))
        }
        var after: Int64?
        if let cursor = params.cursor {
            guard let seq = Int64(cursor), seq >= 0 else {
                throw .invalidParams(FieldError(field: "cursor", reason: "is not a cursor this method returned as next_cursor"))
            }
            after = seq
        }
        if let since = params.since, let until = params.until, until <= since {
            throw .invalidParams(FieldError(field: "until", reason: "must be later than since"))
        }
        let query = AuditQuery(clientID: params.clientID, action: params.action, since: params.since, until: params.until, after: after, limit: limit + 1)
        do {
            let found = try await context.compliance.auditEntries(matching: query)
            let page = Array(found.prefix(limit))
            let next = found.count > limit ? page.last?.seq.map(String.init) : nil
            return Result(entries: page, nextCursor: next)
        } catch {
            throw RPCError(error)
        }
    }
}
