public import Foundation

extension UUID {
    /// A version 4 (random) UUID, as Foundation's `UUID()` makes, from the system's generator
    /// (`getrandom`): Foundation's opens, reads and closes `/dev/urandom` for every id, and every
    /// email takes two (its Message-ID and its MIME boundary).
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        // 0100 (version 4) in the seventh byte's high bits; 10 (the RFC's variant) in the ninth's.
        let high = ((generator.next() as UInt64) & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000
        let low = ((generator.next() as UInt64) & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let a = high.bigEndian, b = low.bigEndian
        return withUnsafeBytes(of: (a, b)) { bytes in
            UUID(uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
        }
    }
}
