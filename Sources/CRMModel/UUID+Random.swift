public import Foundation

extension UUID {
    /// A version 4 (random) UUID, as Foundation's `UUID()` makes, from the system's generator
    /// (`getrandom`): Foundation's opens, reads and closes `/dev/urandom` for every id, and every
    /// email takes two (its Message-ID and its MIME boundary).
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        // 0100 (version 4) in the seventh byte's high bits.
        return UUID(high: ((generator.next() as UInt64) & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000, low: generator.next())
    }
}
