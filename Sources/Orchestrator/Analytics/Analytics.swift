package import CRMModel
package import Foundation
package import Logging
package import Persistence
import Reports

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

    /// `report` as a PDF (`analytics.export`'s summary); throws what cairo reported.
    package func pdf(_ report: AnalyticsReport) throws -> Data {
        do {
            return try ReportRenderer.pdf(report.document())
        } catch {
            logger.error("the PDF report could not be drawn", metadata: ["error": "\(error)"])
            throw error
        }
    }

    /// The dashboard's page: the last `days` days, a point a day in UTC.
    package func dashboard(days: Int, periods: [Int] = [7, 30, 90]) async throws(EngineError) -> String {
        let end = now()
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = .gmt
        let start = calendar.startOfDay(for: end.addingTimeInterval(-Double(days - 1) * 86_400))
        let buckets = AnalyticsInterval.day.bucketStarts(from: start, to: end, in: .gmt) ?? []
        let report = try await report(
            AnalyticsQuery(start: start, end: end), interval: .day, timeZone: .utc, bucketStarts: buckets
        )
        return DashboardPage.html(report.document(title: "Communications, last \(days) days"), periods: periods, selectedDays: days)
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
