import CRMModel
import Foundation
@testable import Persistence
import Testing

/// How a logged event reads back when its personal part is gone, or was written by an older version.
@Suite("Logged events read back")
struct EventColumnsTests {
    func logged(_ params: String) throws -> [String: JSONValue] {
        let event = try EventColumns.logged(
            seq: 7, method: EngineEvent.inboundMethod, params: params, personal: nil, personalID: nil, key: nil,
            decoder: WireJSON.makeDecoder()
        )
        guard case .object(let object) = event.params else { throw StoreError(.corruptRecord, "not an object") }
        return object
    }

    @Test("an erased reply keeps empty sender and text, and no selection")
    func erased() throws {
        let object = try logged(#"{"channel":"whatsapp","intent":"selection","at":"2026-11-30T10:00:00Z"}"#)
        #expect(object["from"] == .string("") && object["text"] == .string(""))
        #expect(object["selection"] == nil && object["seq"] == .int(7))
    }

    @Test("a selection logged as a bare number, before options had ids, reads as {number}")
    func legacySelection() throws {
        let object = try logged(#"{"channel":"sms","intent":"selection","selection":3,"at":"2026-11-30T10:00:00Z"}"#)
        #expect(object["selection"] == .object(["number": .int(3)]))
    }
}
