import CRMModel
import Foundation
import Orchestrator

/// `events.list`: the event log in `seq` order, a page at a time, from any sidecar on the database.
///
/// A workflow that restarts (or resumes a thread the next day) asks for everything after the
/// `next_after` it kept from its last page. Not after the highest seq it heard live: live
/// notifications of concurrent requests (and from other sidecars) may come out of seq order, and
/// some are heard by no one. Together with the live notifications this is at-least-once: an event
/// may be seen twice (live and listed), never missed, and its `seq` tells the reader it has it.
package enum EventsList: RPCMethod {
    package static let name = "events.list"
    static let maximumLimit = 1000

    package struct Params: RPCParams {
        var after: Int64?
        var limit: Int?
        var kinds: [String]?
        var communicationID: UUID?
        var clientID: UUID?

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case after
            case limit
            case kinds
            case communicationID = "communication_id"
            case clientID = "client_id"
        }
    }

    package struct Result: Encodable, Sendable {
        var events: [LoggedEvent]
        /// Where the next page starts: the last seq listed, or `after` when there was none.
        var nextAfter: Int64

        enum CodingKeys: String, CodingKey {
            case events
            case nextAfter = "next_after"
        }
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        let after = params.after ?? 0
        guard after >= 0 else {
            throw .invalidParams(FieldError(field: "after", reason: "must be 0 or a seq this database handed out"))
        }
        let limit = params.limit ?? 100
        guard (1...maximumLimit).contains(limit) else {
            throw .invalidParams(FieldError(field: "limit", reason: "must be from 1 to \(maximumLimit)"))
        }
        var kinds: Set<String>?
        if let requested = params.kinds {
            let known = EngineEvent.methods.joined(separator: ", ")
            guard !requested.isEmpty else {
                throw .invalidParams(FieldError(field: "kinds", reason: "must name at least one of \(known), or be left out for all"))
            }
            for (index, kind) in requested.enumerated() {
                guard EngineEvent.methods.contains(kind) else {
                    throw .invalidParams(FieldError(field: "kinds[\(index)]", reason: "is not an event method; expected one of \(known)"))
                }
                guard !requested[..<index].contains(kind) else {
                    throw .invalidParams(FieldError(field: "kinds[\(index)]", reason: "repeats an earlier kind; name each once"))
                }
            }
            kinds = Set(requested)
        }
        let query = EventQuery(
            after: after, limit: limit, kinds: kinds, communicationID: params.communicationID, clientID: params.clientID
        )
        do {
            let events = try await context.engine.events(matching: query)
            return Result(events: events, nextAfter: events.last?.seq ?? after)
        } catch {
            throw RPCError(error)
        }
    }
}
