import CRMModel
import Foundation
import Testing

@Suite("Random ids are version 4 UUIDs (RFC 9562)")
struct RandomUUIDTests {
    @Test("version 4 and the RFC's variant, and no two alike")
    func layout() {
        let ids = (0..<10_000).map { _ in UUID.random() }
        for id in ids.prefix(100) {
            let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4)
            #expect(bytes[8] >> 6 == 0b10)
            #expect(UUID(uuidString: id.uuidString) == id)
        }
        #expect(Set(ids).count == ids.count)
    }
}
