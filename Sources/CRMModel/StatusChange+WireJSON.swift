/// A status change written as `WireEncoder` writes it, byte for byte, without collecting it first.
///
/// Why: a change is written twice for every move of every communication (the event log's row and
/// the `communication.status` notification), more than any other value, and the log's copy is
/// written on SQLite's one writer. The generic encoder builds a tree of boxed values and sorts its
/// keys each time; here the keys are written in their sorted order directly.
/// `StatusChangeWireJSONTests` holds the two to the same bytes.
extension StatusChange {
    public func appendWireJSON(to bytes: inout [UInt8]) {
        // The members in the order `.sortedKeys` puts them; an optional that is nil is left out,
        // as synthesized `Codable` leaves it out. `messageType` is not part of the wire.
        bytes.append(contentsOf: #"{"at":"#.utf8)
        WireTree.appendString(WireJSON.format(at), to: &bytes)
        if let attempt {
            bytes.append(contentsOf: #","attempt":"#.utf8)
            bytes.append(contentsOf: String(attempt).utf8)
        }
        if let channel {
            bytes.append(contentsOf: #","channel":"#.utf8)
            WireTree.appendString(channel.rawValue, to: &bytes)
        }
        bytes.append(contentsOf: #","client_id":"#.utf8)
        WireTree.appendString(clientID.canonicalString, to: &bytes)
        bytes.append(contentsOf: #","communication_id":"#.utf8)
        WireTree.appendString(communicationID.canonicalString, to: &bytes)
        if let error {
            bytes.append(contentsOf: #","error":"#.utf8)
            WireTree.appendString(error, to: &bytes)
        }
        bytes.append(contentsOf: #","plan_id":"#.utf8)
        WireTree.appendString(planID.canonicalString, to: &bytes)
        if let previousStatus {
            bytes.append(contentsOf: #","previous_status":"#.utf8)
            WireTree.appendString(previousStatus.rawValue, to: &bytes)
        }
        if let providerMessageID {
            bytes.append(contentsOf: #","provider_message_id":"#.utf8)
            WireTree.appendString(providerMessageID, to: &bytes)
        }
        if let seq {
            bytes.append(contentsOf: #","seq":"#.utf8)
            bytes.append(contentsOf: String(seq).utf8)
        }
        bytes.append(contentsOf: #","status":"#.utf8)
        WireTree.appendString(status.rawValue, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }
}
