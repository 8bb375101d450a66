import CRMModel
import Testing

@testable import RPC

@Suite("Params errors name the field")
struct ParamsDecoderTests {
    func error(_ params: JSONValue?) -> FieldError? {
        do {
            _ = try ParamsDecoder.decode(Communicate.Params.self, from: params, method: "communicate")
            return nil
        } catch {
            guard case .object(let data) = error.data, case .string(let field) = data["field"], case .string(let reason) = data["reason"] else {
                return nil
            }
            return FieldError(field: field, reason: reason)
        }
    }

    let valid: [String: JSONValue] = [
        "plan_id": .string("550e8400-e29b-41d4-a716-446655440000"),
        "client_id": .string("660e8400-e29b-41d4-a716-446655440001"),
        "message_type": .string("welcome"),
        "urgency": .string("high"),
        "recipient": .object(["email": .string("priya@example.com")]),
    ]

    @Test("valid params decode")
    func validParams() {
        #expect(error(.object(valid)) == nil)
    }

    @Test("nested fields are named by their dotted path")
    func nested() {
        var params = valid
        params["recipient"] = .object(["phone": .string("12")])
        #expect(error(.object(params))?.field == "recipient.phone")
    }

    @Test("unknown keys are refused with the accepted ones")
    func unknown() {
        var params = valid
        params["urgencey"] = .string("high")
        let found = error(.object(params))
        #expect(found?.field == "urgencey")
        #expect(found?.reason.contains("accepted: plan_id, client_id") == true)
    }

    @Test("an empty key is named by its quotes (found by script/fuzz)")
    func emptyKey() {
        var params = valid
        params[""] = .string("x")
        #expect(error(.object(params))?.field == #""""#)
    }

    @Test("a file name of the wrong type says which endings are accepted (found by script/fuzz)")
    func attachmentEnding() {
        var params = valid
        params["attachments"] = .array([.object([
            "filename": .string("plan.png"), "content_type": .string("application/pdf"), "data": .string("JVBERi0xLjQK"),
        ])])
        #expect(error(.object(params)) == FieldError(field: "attachments[0].filename", reason: "must end in .pdf for application/pdf"))
    }

    @Test("missing, null and mistyped fields say so")
    func missing() {
        var params = valid
        params["plan_id"] = nil
        #expect(error(.object(params)) == FieldError(field: "plan_id", reason: "is required"))
        params = valid
        params["urgency"] = .int(1)
        #expect(error(.object(params)) == FieldError(field: "urgency", reason: "must be a string"))
        params = valid
        params["recipient"] = .null
        #expect(error(.object(params))?.reason.hasPrefix("must not be null") == true)
    }

    @Test("params must be by name")
    func positional() {
        #expect(error(.array([]))?.field == "params")
    }

    @Test("array elements are named with brackets")
    func arrayPath() {
        let params: JSONValue = .object([
            "client_id": .string("660e8400-e29b-41d4-a716-446655440001"),
            "preferred_channels": .array([.string("email"), .string("fax")]),
        ])
        #expect {
            try ParamsDecoder.decode(PreferencesUpdate.Params.self, from: params, method: "preferences.update")
        } throws: { error in
            guard let error = error as? RPCError, case .object(let data) = error.data else { return false }
            return data["field"] == .string("preferred_channels[1]")
        }
    }
}
