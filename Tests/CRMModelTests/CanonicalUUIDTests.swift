import CRMModel
import Foundation
import Testing

@Suite("UUIDs are written in their canonical lowercase form")
struct CanonicalUUIDTests {
    @Test("the same text as Foundation's uuidString lowercased, for every byte value in every position")
    func sameAsFoundation() {
        var ids = [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))]
        ids += (0...255).map { byte -> UUID in
            let value = UInt8(byte)
            return UUID(uuid: (value, value, value, value, value, value, value, value, value, value, value, value, value, value, value, value))
        }
        ids += (0..<1000).map { _ in UUID() }
        for id in ids {
            #expect(id.canonicalString == id.uuidString.lowercased())
        }
    }
}
