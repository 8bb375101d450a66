import Channels
import CRMModel
import Foundation
import Orchestrator
import RPC

/// `communicate`'s params, decoded and then validated as intake does: any input is refused with
/// -32602 naming a field, or accepted; and no error ever repeats a value it was given (a value may be
/// a message body or a contact detail).
enum ParamsTarget {
    static let validator = RequestValidator(renderer: TemplateTarget.renderer)

    static func run(_ data: [UInt8]) {
        guard let params = try? JSONParser.parse(data) else { return }
        // Plain lowercase words are left out: an error lists the accepted values (`reminder`), and a
        // context may hold them too.
        let secrets = privateValues(in: params).filter { $0.count >= 8 && !$0.utf8.allSatisfy { (97...122).contains($0) || $0 == 95 } }
        let decoded: Communicate.Params
        do {
            decoded = try ParamsDecoder.decode(Communicate.Params.self, from: params, method: "communicate")
        } catch {
            require(error.code == -32602, "params were refused with \(error.code)")
            guard case .object(let members) = error.data, case .string(let field) = members["field"], !field.isEmpty else {
                return require(false, "a refusal names no field: \(error.message)")
            }
            check(error.message, repeatsNoneOf: secrets)
            return
        }
        do {
            try validator.validate(decoded.request)
        } catch {
            require(!error.field.isEmpty, "a validation error names no field: \(error.reason)")
            check(error.reason, repeatsNoneOf: secrets)
        }
    }

    static func check(_ message: String, repeatsNoneOf secrets: [String]) {
        for secret in secrets where message.contains(secret) {
            require(false, "an error repeats a value it was given: \(message)")
        }
    }

    /// The values that may be private: the context (message bodies are made of it), the recipient's
    /// contact details, attachments' contents and the idempotency key. Keys are not among them (an
    /// unknown key is named as the field at fault), nor enum values, content types or file names,
    /// which a refusal names so the caller knows what to change.
    static func privateValues(in params: JSONValue) -> [String] {
        guard case .object(let members) = params else { return [] }
        var found: [String] = []
        for key in ["context", "recipient", "idempotency_key"] {
            if let value = members[key] { found += strings(in: value) }
        }
        if case .array(let attachments)? = members["attachments"] {
            for case .object(let attachment) in attachments {
                if let data = attachment["data"] { found += strings(in: data) }
            }
        }
        return found
    }

    static func strings(in value: JSONValue) -> [String] {
        switch value {
        case .string(let string): [string]
        case .array(let members): members.flatMap(strings)
        case .object(let members): members.values.flatMap(strings)
        default: []
        }
    }
}
