public import Foundation

extension UUID {
    /// A version 7 UUID (RFC 9562, 5.7): the Unix time of `date` in milliseconds in the first 48 bits,
    /// then the version, 74 random bits and the variant.
    ///
    /// Why for communications: their id is a key of the `communications` table and the first column of
    /// the indexes that find a communication's events, status changes and attempts. Random (version 4)
    /// ids put each new row on a page of its own in every one of those B-trees, and every commit writes
    /// each page it touched to the write-ahead log whole; ids that grow with time put the rows written
    /// together on the same few pages at the B-trees' right edges. The random bits come from the
    /// system's generator (`getrandom`), as Foundation's `UUID()` would, without its opening and reading
    /// `/dev/urandom` for every id.
    public static func timeOrdered(at date: Date) -> UUID {
        var generator = SystemRandomNumberGenerator()
        let milliseconds = UInt64(max(0, (date.timeIntervalSince1970 * 1000).rounded(.down)))
        // 48 bits of time, then 0111 (version 7) and 12 random bits; the variant and 62 random bits.
        return UUID(high: (milliseconds << 16) | 0x7000 | ((generator.next() as UInt64) & 0x0FFF), low: generator.next())
    }
}
