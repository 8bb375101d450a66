import CRMModel
import Foundation
import Testing

@testable import RPC

/// `ParamsDecoder` reads params with `WireDecoder` straight from the parsed request; it used to write
/// them out and have Foundation's decoder parse them again. A caller must see the same answer either
/// way: the same params accepted, the same field and reason for those refused.
@Suite("Params read by WireDecoder: the same acceptance and the same field errors as through Foundation's decoder")
struct WireDecoderParityTests {
    /// What Foundation's decoder, as `ParamsDecoder` used it, made of `params`.
    /// What a decode came to: every field of the params (nested ones too) written out, or the field error.
    enum Outcome: Equatable {
        case decoded(String)
        case refused(FieldError)
    }

    /// `value` written out field by field, with dictionaries in key order: two equal values give the
    /// same text whatever order their dictionaries iterate in.
    static func canonical(_ value: Any) -> String {
        if value is Data || value is UUID || value is Date { return String(reflecting: value) }
        let mirror = Mirror(reflecting: value)
        if mirror.children.isEmpty { return String(reflecting: value) }
        let children = mirror.children.map { ($0.label.map { "\($0): " } ?? "") + canonical($0.value) }
        let inside = mirror.displayStyle == .dictionary || mirror.displayStyle == .set ? children.sorted() : children
        return "\(mirror.subjectType)(" + inside.joined(separator: ", ") + ")"
    }

    /// Where two outcomes part, with some text around it: the whole of a long one says little.
    static func difference(_ found: Outcome, _ expected: Outcome) -> String {
        let (left, right) = (Array(String(describing: found)), Array(String(describing: expected)))
        let start = zip(left, right).prefix { $0 == $1 }.count
        let slice = { (text: [Character]) in String(text[max(0, start - 60)..<min(text.count, start + 80)]) }
        return "WireDecoder: …\(slice(left))…; Foundation: …\(slice(right))…"
    }

    static func throughFoundation<Params: RPCParams>(_ type: Params.Type, _ params: [String: JSONValue]) -> Outcome {
        do {
            return .decoded(canonical(try WireJSON.makeDecoder().decode(Params.self, from: Data(JSONValue.object(params).serialized()))))
        } catch let error as DecodingError {
            return .refused(ParamsDecoder.fieldError(error))
        } catch let error as FieldError {
            return .refused(error)
        } catch {
            return .refused(FieldError(field: "params", reason: "could not be read"))
        }
    }

    static func throughWire<Params: RPCParams>(_ type: Params.Type, _ params: [String: JSONValue], method: String) -> Outcome {
        do {
            return .decoded(canonical(try ParamsDecoder.decode(Params.self, from: .object(params), method: method)))
        } catch {
            guard case .object(let data) = error.data, case .string(let field) = data["field"], case .string(let reason) = data["reason"] else {
                return .refused(FieldError(field: "?", reason: error.message))
            }
            return .refused(FieldError(field: field, reason: reason))
        }
    }

    /// Values of every JSON kind, and the edges of each, put in place of each field in turn.
    static let replacements: [JSONValue] = [
        .null, .bool(true), .bool(false), .int(0), .int(-1), .int(7), .int(Int64.max), .double(2), .double(-0.0),
        .string(""), .string("x"), .string("550e8400-e29b-41d4-a716-446655440000"), .string("2026-05-01T09:00:00Z"),
        .string("09:30"), .string("email"), .string("Europe/Paris"), .string("JVBERi0xLjQK"),
        .array([]), .array([.string("email")]), .array([.int(1)]), .array([.null]), .array([.object([:])]),
        .object([:]), .object(["email": .string("priya@example.com")]), .object(["a": .int(1)]),
    ]

    /// Every field of `valid` replaced by each replacement, one at a time, nested objects and the
    /// first element of arrays too; and each field left out.
    static func variants(of valid: [String: JSONValue]) -> [[String: JSONValue]] {
        var found: [[String: JSONValue]] = [valid]
        for (key, value) in valid {
            var without = valid
            without[key] = nil
            found.append(without)
            for replacement in replacements {
                var changed = valid
                changed[key] = replacement
                found.append(changed)
            }
            if case .object(let members) = value {
                for nested in variants(of: members) {
                    var changed = valid
                    changed[key] = .object(nested)
                    found.append(changed)
                }
            }
            if case .array(let elements) = value, case .object(let first) = elements.first {
                for nested in variants(of: first) {
                    var changed = valid
                    changed[key] = .array([.object(nested)] + elements.dropFirst())
                    found.append(changed)
                }
            }
        }
        return found
    }

    /// The one intended difference: a number that is not a whole number, or too large, for an
    /// integer field. Foundation reported it with no path (ParamsDecoder then guessed a top-level key).
    static func differsOnPurpose(_ params: [String: JSONValue]) -> Bool {
        func fractional(_ value: JSONValue) -> Bool {
            switch value {
            case .double(let number): number.rounded() != number || abs(number) >= 9.2e18
            case .array(let elements): elements.contains(where: fractional)
            case .object(let members): members.values.contains(where: fractional)
            default: false
            }
        }
        return params.values.contains(where: fractional)
    }

    func expectParity<Params: RPCParams>(_ type: Params.Type, method: String, valid: [String: JSONValue]) {
        var compared = 0
        for params in Self.variants(of: valid) where !Self.differsOnPurpose(params) {
            let expected = Self.throughFoundation(type, params)
            let found = Self.throughWire(type, params, method: method)
            #expect(found == expected, "params: \(String(decoding: JSONValue.object(params).serialized(), as: UTF8.self)); \(Self.difference(found, expected))")
            compared += 1
        }
        #expect(compared > 50)
    }

    @Test("communicate")
    func communicate() {
        expectParity(Communicate.Params.self, method: "communicate", valid: [
            "plan_id": .string("550e8400-e29b-41d4-a716-446655440000"),
            "client_id": .string("660e8400-e29b-41d4-a716-446655440001"),
            "message_type": .string("reminder"), "urgency": .string("critical"),
            "recipient": .object(["email": .string("priya@example.com"), "phone": .string("+919876543210"), "name": .string("Priya")]),
            "context": .object(["client_name": .string("Priya"), "pending_items": .array([.string("menu")]), "count": .int(3)]),
            "preferred_channel": .string("sms"), "send_at": .string("2026-05-01T09:00:00Z"), "wait": .bool(false),
            "idempotency_key": .string("key-1"),
            "attachments": .array([.object([
                "filename": .string("plan.pdf"), "content_type": .string("application/pdf"), "data": .string("JVBERi0xLjQK"),
            ])]),
        ])
    }

    @Test("preferences.update")
    func preferencesUpdate() {
        expectParity(PreferencesUpdate.Params.self, method: "preferences.update", valid: [
            "client_id": .string("660e8400-e29b-41d4-a716-446655440001"),
            "preferred_channels": .array([.string("whatsapp"), .string("email")]), "timezone": .string("Asia/Kolkata"),
            "quiet_hours_start": .string("21:00"), "quiet_hours_end": .string("08:00"), "opt_out_email": .bool(false),
            "opt_out_sms": .bool(true), "opt_out_whatsapp": .bool(false), "language_preference": .string("hi"),
        ])
    }

    @Test("communications.list")
    func communicationsList() {
        expectParity(CommunicationsList.Params.self, method: "communications.list", valid: [
            "client_id": .string("660e8400-e29b-41d4-a716-446655440001"), "status": .string("sent"), "limit": .int(10),
        ])
    }

    @Test("analytics.get")
    func analyticsGet() {
        expectParity(AnalyticsGet.Params.self, method: "analytics.get", valid: [
            "start": .string("2026-05-01T00:00:00Z"), "end": .string("2026-05-08T00:00:00.250Z"),
            "plan_id": .string("550e8400-e29b-41d4-a716-446655440000"), "client_id": .string("660e8400-e29b-41d4-a716-446655440001"),
            "channel": .string("email"), "message_type": .string("reminder"), "interval": .string("day"), "time_zone": .string("Asia/Kolkata"),
        ])
    }

    @Test("events.list")
    func eventsList() {
        expectParity(EventsList.Params.self, method: "events.list", valid: [
            "after": .int(12), "limit": .int(100), "kinds": .array([.string("communication.status")]),
            "communication_id": .string("550e8400-e29b-41d4-a716-446655440000"), "client_id": .string("660e8400-e29b-41d4-a716-446655440001"),
        ])
    }

    @Test("audit.list")
    func auditList() {
        expectParity(AuditList.Params.self, method: "audit.list", valid: [
            "client_id": .string("660e8400-e29b-41d4-a716-446655440001"), "action": .string("client.forgotten"),
            "since": .string("2026-05-01T00:00:00+05:30"), "until": .string("2026-06-01T00:00:00Z"), "cursor": .string("abc"), "limit": .int(5),
        ])
    }

    @Test("a fraction or a number too large for an integer field is named at its own path")
    func integers() {
        let found = Self.throughWire(CommunicationsList.Params.self, ["limit": .double(1.5)], method: "communications.list")
        #expect(found == .refused(FieldError(field: "limit", reason: "must be a whole number")))
        let large = Self.throughWire(CommunicationsList.Params.self, ["limit": .double(1e30)], method: "communications.list")
        guard case .refused(let error) = large else {
            Issue.record("1e30 was accepted as a limit")
            return
        }
        #expect(error.field == "limit")
        guard case .decoded = Self.throughWire(CommunicationsList.Params.self, ["limit": .double(20)], method: "communications.list") else {
            Issue.record("20.0 was refused as a limit")
            return
        }
    }
}
