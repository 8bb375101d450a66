package import CRMModel
package import Foundation
package import Logging
package import Persistence

/// `analytics.get`: the store's aggregates made into the report a planner reads.
package struct Analytics: Sendable {
    private let store: any Store
    private let targets: [AnalyticsTarget]
    private let now: @Sendable () -> Date
    private let logger: Logger

    package init(store: any Store, targets: [AnalyticsTarget], now: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.store = store
        self.targets = targets
        self.now = now
        self.logger = logger
    }

    /// The report for `query` (its `now` is set here), with a series of `interval`s in `timeZone`
    /// whose buckets `bucketStarts` gives (the caller checked there are not too many).
    package func report(
        _ query: AnalyticsQuery, interval: AnalyticsInterval, timeZone: IANATimeZone, bucketStarts: [Date]
    ) async throws(EngineError) -> AnalyticsReport {
        var query = query
        query.now = now()
        let figures: AnalyticsFigures
        do {
            figures = try await store.analytics(query)
        } catch {
            logger.error("storage failed", metadata: ["error": "\(error.description)"])
            throw .storageUnavailable(error.message)
        }
        return AnalyticsReport(figures, query: query, interval: interval, timeZone: timeZone, bucketStarts: bucketStarts, targets: targets)
    }

    /// Hands the communications in `query`'s scope to `write`, oldest first, until it says false;
    /// how many it handed over.
    package func records(_ query: AnalyticsQuery, to write: @escaping @Sendable (CommunicationRecord) -> Bool) async throws(EngineError) -> Int {
        do {
            return try await store.records(query, to: write)
        } catch {
            logger.error("storage failed", metadata: ["error": "\(error.description)"])
            throw .storageUnavailable(error.message)
        }
    }
}
