import Foundation

extension UUID {
    /// The UUID whose first 64 bits are `high` and last 64 are `low`, with the RFC 9562 variant (10)
    /// put in `low`'s top two bits; the version is the caller's to put in `high`.
    init(high: UInt64, low: UInt64) {
        let a = high.bigEndian, b = ((low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000).bigEndian
        self = withUnsafeBytes(of: (a, b)) { bytes in
            UUID(uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
        }
    }
}
