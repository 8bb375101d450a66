import CRMModel
import Foundation

/// An event as the values of its `events` row.
///
/// `params` is the notification's params as JSON text, without `seq` (the row's key) and without the
/// personal fields (an inbound message's sender, text and what it chose): those are sealed together in `personal`
/// under the data key of `keyID`, so erasing the client shreds them with everything else. An
/// inbound message from a number no client uses has no client key; it is sealed under a key of its
/// own, named after the sender's blind index (an erasure by address can shred it).
struct EventColumns: Sendable {
    var method: String
    var communicationID: String?
    var clientID: String?
    /// Whose data key sealed `personal`; nil when there is nothing personal.
    var keyID: String?
    var params: String
    var personal: Data?
    /// Names the row in the sealed value's authenticated data (the seq is not known before insert).
    var personalID: String?
    var at: Int64

    /// The fields of each method's params that are personal data.
    static let personalFields: [String: [String]] = [EngineEvent.inboundMethod: ["from", "text", "selection"]]
    /// Personal fields that are left out, rather than read as empty strings, once erased.
    static let omittedWhenErased: Set<String> = ["selection"]

    /// Whose key seals `event`'s personal fields, if it has any.
    static func keyID(of event: EngineEvent, cipher: FieldCipher) -> String? {
        guard case .inbound(let reply) = event else { return nil }
        if let client = reply.clientID { return client.key }
        return "sender:" + cipher.blindIndex(reply.from).map { String(format: "%02x", $0) }.joined()
    }

    /// `sealer` is `keyID(of:)` and its data key, when the event has personal fields.
    init(_ event: EngineEvent, sealedBy sealer: (id: String, key: ClientKey)?, at: Date, encoder: WireEncoder) throws(StoreError) {
        method = event.method
        communicationID = event.communicationID?.key
        clientID = event.clientID?.key
        self.at = at.millisecondsSince1970
        guard let names = Self.personalFields[method] else {
            // The common case, encoded once: nothing to take out (and `seq` is nil until logged).
            params = try Self.text(of: event, encoder: encoder)
            return
        }
        guard let sealer else {
            throw StoreError(.corruptRecord, "a \(method) event has personal data and no key to seal it under; it was not stored")
        }
        guard case .object(var payload) = try Self.value(of: Data(try Self.text(of: event, encoder: encoder).utf8), decoder: WireJSON.makeDecoder())
        else { throw StoreError(.corruptRecord, "a \(method) event is not a JSON object") }
        var taken: [String: JSONValue] = [:]
        for name in names {
            taken[name] = payload.removeValue(forKey: name)
        }
        let id = UUID.random().canonicalString
        keyID = sealer.id
        personalID = id
        personal = try sealer.key.seal(Data(try Self.text(.object(taken), encoder: encoder).utf8), "events.personal", row: id)
        params = try Self.text(.object(payload), encoder: encoder)
    }

    /// What `events.list` hands out: the params as they were announced, `seq` among them. Personal
    /// fields whose key is gone read back as empty strings.
    static func logged(
        seq: Int64, method: String, params: String, personal: Data?, personalID: String?, key: ClientKey?, decoder: JSONDecoder
    ) throws(StoreError) -> LoggedEvent {
        guard case .object(var object) = try value(of: Data(params.utf8), decoder: decoder) else {
            throw StoreError(.corruptRecord, "event \(seq) has params this version cannot read")
        }
        var opened: [String: JSONValue] = [:]
        if let personal, let personalID, let key,
            case .object(let fields) = try value(of: try key.open(personal, "events.personal", row: personalID), decoder: decoder)
        {
            opened = fields
        }
        // Erased (the sealed part deleted, or its key shredded): the fields stay, empty.
        for name in personalFields[method] ?? [] where object[name] == nil {
            object[name] = opened[name] ?? (omittedWhenErased.contains(name) ? nil : .string(""))
        }
        // Logged before a selection could name an option by id, it was the option's number.
        if method == EngineEvent.inboundMethod, case .int(let number)? = object["selection"] {
            object["selection"] = .object(["number": .int(number)])
        }
        object["seq"] = .int(seq)
        return LoggedEvent(seq: seq, method: method, params: .object(object))
    }

    /// The typed event a listed one was announced as; nil for a method this version does not know.
    static func event(_ logged: LoggedEvent, encoder: WireEncoder, decoder: JSONDecoder) -> EngineEvent? {
        guard let data = try? encoder.encode(logged.params) else { return nil }
        switch logged.method {
        case EngineEvent.statusMethod: return (try? decoder.decode(StatusChange.self, from: data)).map(EngineEvent.status)
        case EngineEvent.optedOutMethod: return (try? decoder.decode(ConsentChange.self, from: data)).map(EngineEvent.optedOut)
        case EngineEvent.inboundMethod: return (try? decoder.decode(InboundReply.self, from: data)).map(EngineEvent.inbound)
        default: return nil
        }
    }

    private static func text(of event: EngineEvent, encoder: WireEncoder) throws(StoreError) -> String {
        do {
            let data: Data
            switch event {
            case .status(let change):
                // Every move logs one, on SQLite's writer: written directly, not through the encoder.
                var bytes: [UInt8] = []
                change.appendWireJSON(to: &bytes)
                return String(decoding: bytes, as: UTF8.self)
            case .optedOut(let change): data = try encoder.encode(change)
            case .inbound(let reply): data = try encoder.encode(reply)
            }
            return String(decoding: data, as: UTF8.self)
        } catch {
            throw StoreError(.corruptRecord, "cannot encode a \(event.method) event")
        }
    }

    private static func value(of data: Data, decoder: JSONDecoder) throws(StoreError) -> JSONValue {
        do {
            return try decoder.decode(JSONValue.self, from: data)
        } catch {
            throw StoreError(.corruptRecord, "an event's JSON does not read back")
        }
    }

    private static func text(_ value: JSONValue, encoder: WireEncoder) throws(StoreError) -> String {
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw StoreError(.corruptRecord, "cannot encode an event's params")
        }
    }
}
