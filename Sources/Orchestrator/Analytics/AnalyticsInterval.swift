package import Foundation

/// The step of `analytics.get`'s series: local hours, days or (ISO, Monday-first) weeks.
package enum AnalyticsInterval: String, Sendable, CaseIterable {
    case hour, day, week

    /// The most buckets one report may have: a year of days, or a month of hours, fit.
    package static let maximumBuckets = 1_000

    /// Where each bucket of [start, end) begins, in `timeZone`: the first is the start of the
    /// hour, day or week that holds `start`. Daylight-saving days are 23 or 25 hours long, as
    /// the local calendar has them. nil when there would be more than `maximumBuckets`.
    package func bucketStarts(from start: Date, to end: Date, in timeZone: TimeZone) -> [Date]? {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = timeZone
        let component: Calendar.Component = switch self {
        case .hour: .hour
        case .day: .day
        case .week: .weekOfYear
        }
        guard var bucket = calendar.dateInterval(of: component, for: start)?.start else { return nil }
        var starts: [Date] = []
        while bucket < end {
            guard starts.count < Self.maximumBuckets else { return nil }
            starts.append(bucket)
            guard let next = calendar.date(byAdding: component, value: 1, to: bucket), next > bucket else { return nil }
            bucket = next
        }
        return starts
    }
}
