import CRMModel
import Foundation

/// Wall-clock arithmetic in one client's time zone, through the IANA rules Foundation ships, so that
/// daylight-saving days have the length they really have.
struct LocalClock {
    private let calendar: Calendar

    init(_ zone: IANATimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone.timeZone
        self.calendar = calendar
    }

    /// Minutes since local midnight at `date` (seconds ignored).
    func minutes(at date: Date) -> Int {
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        return (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
    }

    /// The first moment after `date` at which the wall clock shows `time`. On a day when the clocks
    /// skip `time` (spring forward), the first moment after the gap.
    func next(_ time: LocalTime, after date: Date) -> Date {
        calendar.nextDate(
            after: date,
            matching: DateComponents(hour: time.hour, minute: time.minute, second: 0),
            matchingPolicy: .nextTime
        ) ?? date
    }

    /// Whether the wall clock at `date` is in [start, end); a window whose end is before its start
    /// spans midnight, and an empty window (start == end) holds nothing.
    func isWithin(_ start: LocalTime, _ end: LocalTime, at date: Date) -> Bool {
        let now = minutes(at: date)
        let (from, to) = (start.minutesSinceMidnight, end.minutesSinceMidnight)
        if from == to { return false }
        return from < to ? (now >= from && now < to) : (now >= from || now < to)
    }
}
