import CRMModel
import Foundation
import Testing

/// `StatusChange.appendWireJSON` writes a change without `WireEncoder`; the wire and the event log
/// must not tell the difference.
@Suite("A status change written directly is what the encoders write")
struct StatusChangeWireJSONTests {
    private let foundation = WireJSON.makeFoundationEncoder()
    private let wire = WireEncoder()

    /// Every optional member present and absent, in every combination, with texts that need escaping.
    private static var changes: [StatusChange] {
        let ids = (UUID(uuidString: "0193A5B2-7C4D-7E8F-9A0B-1C2D3E4F5A6B")!, UUID(), UUID())
        var changes: [StatusChange] = []
        for mask in 0..<(1 << 6) {
            let present = { (bit: Int) in mask & (1 << bit) != 0 }
            var change = StatusChange(
                communicationID: ids.0, planID: ids.1, clientID: ids.2, status: CommunicationStatus.allCases[mask % CommunicationStatus.allCases.count],
                previousStatus: present(0) ? .queued : nil, channel: present(1) ? Channel.allCases[mask % 3] : nil,
                attempt: present(2) ? mask * 37 - 400 : nil, providerMessageID: present(3) ? "<\(mask)@mail \"quoted\" \\ é\u{1}>" : nil,
                error: present(4) ? "smtp: 550 \"no\"\n\ttab/slash 😀" : nil,
                at: Date(timeIntervalSince1970: Double(mask) * 86_400 * 400 - 2_000_000_000 + 0.123), messageType: .reminder
            )
            change.seq = present(5) ? Int64(mask) * 1_000_000_007 : nil
            changes.append(change)
        }
        // Dates no four-digit year holds, and the millisecond rounding at a second's edge.
        for seconds in [-62_200_000_000.0, 253_402_300_800.5, 0.0005, 1_733_000_000.9996] {
            changes.append(StatusChange(communicationID: ids.0, planID: ids.1, clientID: ids.2, status: .sent, previousStatus: nil,
                                        at: Date(timeIntervalSince1970: seconds)))
        }
        return changes
    }

    @Test("the same bytes as WireEncoder and as Foundation's encoder, for every combination of members")
    func sameBytes() throws {
        for change in Self.changes {
            var direct: [UInt8] = []
            change.appendWireJSON(to: &direct)
            let text = String(decoding: direct, as: UTF8.self)
            #expect(text == String(decoding: try wire.encode(change), as: UTF8.self))
            #expect(text == String(decoding: try foundation.encode(change), as: UTF8.self))
        }
    }

    @Test("appends: what was in the buffer stays")
    func appends() {
        var bytes = Array("prefix:".utf8)
        Self.changes[0].appendWireJSON(to: &bytes)
        #expect(bytes.starts(with: Array("prefix:{\"at\":".utf8)))
    }
}
