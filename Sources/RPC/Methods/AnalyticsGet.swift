import CRMModel
import Foundation
package import Orchestrator

/// `analytics.get`: delivery, open, click and response rates, latencies, fallbacks, failures and a
/// series, over the communications accepted in [start, end).
package enum AnalyticsGet: RPCMethod {
    package static let name = "analytics.get"

    package struct Params: RPCParams {
        var start: Date
        var end: Date
        var planID: UUID?
        var clientID: UUID?
        var channel: Channel?
        var messageType: MessageType?
        var interval: String?
        var timeZone: String?

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case start, end, channel, interval
            case planID = "plan_id"
            case clientID = "client_id"
            case messageType = "message_type"
            case timeZone = "time_zone"
        }
    }

    package typealias Result = AnalyticsReport

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        guard params.end > params.start else {
            throw .invalidParams(FieldError(field: "end", reason: "must be later than start"))
        }
        let query = AnalyticsQuery(
            start: params.start, end: params.end, planID: params.planID, clientID: params.clientID, channel: params.channel,
            messageType: params.messageType
        )
        return try await report(query, interval: params.interval, timeZone: params.timeZone, context: context)
    }

    /// The report for `query` with a series of `interval`s (a day by default) in `timeZone` (UTC by
    /// default), both checked here: `analytics.export` makes its summary the same way.
    static func report(
        _ query: AnalyticsQuery, interval name: String?, timeZone zoneName: String?, context: MethodContext
    ) async throws(RPCError) -> AnalyticsReport {
        let interval = try AnalyticsInterval.parse(name)
        let timeZone: IANATimeZone
        do {
            timeZone = try IANATimeZone(validating: zoneName ?? "UTC")
        } catch {
            throw .invalidParams(FieldError(field: "time_zone", reason: error.reason))
        }
        guard let buckets = interval.bucketStarts(from: query.start, to: query.end, in: timeZone.timeZone) else {
            throw .invalidParams(FieldError(
                field: "interval",
                reason: "gives more than \(AnalyticsInterval.maximumBuckets) points for this period; use a longer interval or a shorter period"
            ))
        }
        do {
            return try await context.analytics.report(query, interval: interval, timeZone: timeZone, bucketStarts: buckets)
        } catch {
            throw RPCError(error)
        }
    }
}

extension AnalyticsInterval {
    /// The interval a request names; a day when it names none.
    static func parse(_ name: String?) throws(RPCError) -> AnalyticsInterval {
        guard let name else { return .day }
        guard let interval = AnalyticsInterval(rawValue: name) else {
            throw .invalidParams(FieldError(
                field: "interval", reason: "must be one of \(AnalyticsInterval.allCases.map(\.rawValue).joined(separator: ", "))"
            ))
        }
        return interval
    }
}
