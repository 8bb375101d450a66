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
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        // 48 bits of time, then 0111 (version 7) and 12 random bits.
        let first = (milliseconds << 16) | 0x7000 | (high & 0x0FFF)
        // 10 (the RFC's variant), then 62 random bits.
        let second = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let a = first.bigEndian, b = second.bigEndian
        return withUnsafeBytes(of: (a, b)) { bytes in
            UUID(uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
        }
    }
}
