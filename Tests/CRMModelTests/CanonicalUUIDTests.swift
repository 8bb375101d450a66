import CRMModel
import Foundation
import Testing

@Suite("UUIDs are written in their canonical lowercase form, and read back as Foundation reads them")
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

    @Test("read as UUID(uuidString:) reads them: either case, every byte value, the same id")
    func readsAsFoundation() {
        var ids = (0...255).map { byte -> UUID in
            let value = UInt8(byte)
            return UUID(uuid: (value, 0, value, 1, value, 2, value, 3, value, 4, value, 5, value, 6, value, 7))
        }
        ids += (0..<1000).map { _ in UUID() }
        for id in ids {
            #expect(UUID(hexString: id.canonicalString) == id)
            #expect(UUID(hexString: id.uuidString) == id)
        }
    }

    @Test("refuses what UUID(uuidString:) refuses", arguments: [
        "", "not a uuid", "550e8400e29b41d4a716446655440000", "550e8400-e29b-41d4-a716-44665544000",
        "550e8400-e29b-41d4-a716-4466554400000", "550e8400-e29b-41d4-a716_446655440000", "550e8400-e29b-41d4-a716-44665544000g",
        "{550e8400-e29b-41d4-a716-446655440000}", " 550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-44665544000\u{e9}",
    ])
    func refusesWhatFoundationRefuses(_ text: String) {
        #expect(UUID(uuidString: text) == nil)
        #expect(UUID(hexString: text) == nil)
    }

    /// Foundation's `sscanf("%2hhx")` takes a sign: it reads "-2" as 0xfe.
    @Test("refuses a sign where a hex digit belongs")
    func refusesSigns() {
        #expect(UUID(hexString: "550e8400--29b-41d4-a716-446655440000") == nil)
        #expect(UUID(hexString: "+50e8400-e29b-41d4-a716-446655440000") == nil)
    }
}
