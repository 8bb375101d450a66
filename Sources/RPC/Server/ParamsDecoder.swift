package import CRMModel
import Foundation

/// Turns a request's `params` into a method's `Params`, or into an error that names the field and
/// says what is accepted.
package enum ParamsDecoder {
    package static func decode<Params: RPCParams>(_ type: Params.Type, from params: JSONValue?, method: String) throws(RPCError) -> Params {
        let members: [String: JSONValue]
        switch params {
        case nil: members = [:]
        case .object(let object): members = object
        case .some:
            throw .invalidParams(FieldError(field: "params", reason: "must be an object of named parameters (by-name); \(method) takes no positional params"))
        }
        let accepted = Params.fieldNames
        if let unknown = members.keys.sorted().first(where: { !accepted.contains($0) }) {
            let list = accepted.isEmpty ? "it takes none" : "accepted: " + accepted.joined(separator: ", ")
            // An empty key is named by its quotes, or the message would name nothing.
            throw .invalidParams(FieldError(field: unknown.isEmpty ? #""""# : unknown, reason: "is not a parameter of \(method); \(list)"))
        }
        do {
            // Read from the value the request's parser made: no second parse of the text.
            return try WireDecoder().decode(Params.self, from: .object(members))
        } catch let error as DecodingError {
            throw .invalidParams(fieldError(error))
        } catch let error as FieldError {
            throw .invalidParams(error)
        } catch {
            throw .invalidParams(FieldError(field: "params", reason: "could not be read"))
        }
    }

    static func fieldError(_ error: DecodingError) -> FieldError {
        switch error {
        case .keyNotFound(let key, let context):
            return FieldError(field: path(context.codingPath + [key]), reason: "is required")
        case .valueNotFound(let type, let context):
            return FieldError(field: path(context.codingPath), reason: "must not be null; expected \(jsonType(type))")
        case .typeMismatch(let type, let context):
            return FieldError(field: path(context.codingPath), reason: "must be \(jsonType(type))")
        case .dataCorrupted(let context):
            var reason = context.debugDescription
            // Foundation's own wording for UUIDs says nothing of the form expected.
            if reason.contains("UUID") { reason = "must be a UUID such as 550e8400-e29b-41d4-a716-446655440000" }
            return FieldError(field: path(context.codingPath), reason: reason)
        @unknown default:
            return FieldError(field: "params", reason: "could not be read")
        }
    }

    /// `recipient.email`, `preferred_channels[1]`.
    static func path(_ keys: [any CodingKey]) -> String {
        var result = ""
        for key in keys {
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                result += result.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return result.isEmpty ? "params" : result
    }

    private static func jsonType(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is UUID.Type: return "a UUID string"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a string"
        }
    }
}
