import CRMModel
import Foundation
import Testing

@Suite("Communication ids are version 7 UUIDs (RFC 9562)")
struct TimeOrderedUUIDTests {
    @Test("the first 48 bits are the time in milliseconds, then version 7, then the RFC's variant")
    func layout() {
        let date = Date(timeIntervalSince1970: 1_764_590_400.123_9)  // 2025-12-01T12:00:00.123Z
        let id = UUID.timeOrdered(at: date)
        let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
        let milliseconds = bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(milliseconds == 1_764_590_400_123)
        #expect(bytes[6] >> 4 == 7)
        #expect(bytes[8] >> 6 == 0b10)
        #expect(id.uuidString.lowercased().hasPrefix("019ad9c8-b27b-7"))
    }

    @Test("ids made later sort later, as text too; ids made in the same millisecond differ")
    func order() {
        let start = Date(timeIntervalSince1970: 1_764_590_400)
        // Half a millisecond past each millisecond: a step of exactly 0.001 s could land a hair below it.
        let ids = (0..<1000).map { UUID.timeOrdered(at: Date(timeIntervalSince1970: (1_764_590_400_000.5 + Double($0)) / 1000)) }
        let texts = ids.map { $0.uuidString.lowercased() }
        #expect(texts == texts.sorted())
        let sameMoment = (0..<10_000).map { _ in UUID.timeOrdered(at: start) }
        #expect(Set(sameMoment).count == sameMoment.count)
    }
}
