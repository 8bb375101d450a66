import Channels
import CRMModel
import Foundation
import Orchestrator
import Testing

@Suite("communicate's rules are checked in one pass, each refusal naming its field")
struct RequestValidatorTests {
    let validator = RequestValidator(renderer: try! TemplateRenderer())

    func request(
        recipient: Recipient? = nil, context: [String: JSONValue] = ["client_name": .string("Priya")], idempotencyKey: String? = nil,
        attachments: [CRMModel.Attachment] = []
    ) -> CommunicationRequest {
        CommunicationRequest(
            planID: UUID(), clientID: UUID(), messageType: .welcome, urgency: .normal,
            recipient: recipient ?? Recipient(email: try! EmailAddress(validating: "priya@example.com")),
            context: context, idempotencyKey: idempotencyKey, attachments: attachments
        )
    }

    func refusal(_ request: CommunicationRequest) -> FieldError? {
        do {
            try validator.validate(request)
            return nil
        } catch {
            return error
        }
    }

    @Test("a valid request passes")
    func valid() {
        #expect(refusal(request()) == nil)
    }

    @Test("each rule names its field")
    func refusals() {
        let cases: [(String, CommunicationRequest)] = [
            ("recipient", request(recipient: Recipient())),
            ("idempotency_key", request(idempotencyKey: "")),
            ("idempotency_key", request(idempotencyKey: String(repeating: "k", count: 256))),
            ("idempotency_key", request(idempotencyKey: "two\nlines")),
            ("context.client_name", request(context: ["client_name": .string("Priya\r\nBcc: everyone@example.com")])),
        ]
        for (field, request) in cases {
            #expect(refusal(request)?.field == field)
        }
    }

    @Test("a line break that never reaches a header (no email address) is not refused")
    func lineBreakWithoutEmail() {
        let sms = request(recipient: Recipient(phone: try! PhoneNumber(validating: "+919876543210")), context: ["client_name": .string("Priya\nSharma")])
        #expect(refusal(sms) == nil)
    }

    @Test("attachments over the total are refused as a whole")
    func attachmentsTotal() throws {
        let half = Data(count: CRMModel.Attachment.maxTotalBytes / 2 + 1)
        let files = try [1, 2].map { try CRMModel.Attachment(filename: "part\($0).pdf", contentType: "application/pdf", data: half) }
        #expect(refusal(request(attachments: files))?.field == "attachments")
    }

    @Test("options must be {id, title, description} with unique ids: the refusal names the option and its field")
    func options() {
        func options(_ items: [JSONValue]) -> CommunicationRequest {
            request(context: ["client_name": .string("Priya"), "options": .array(items)])
        }
        func option(_ fields: [String: JSONValue]) -> JSONValue { .object(fields) }
        let good = option(["id": .string("a"), "title": .string("Garden"), "description": .string("₹4,50,000")])
        #expect(refusal(options([good, option(["id": .string("b"), "title": .string("Ballroom")])])) == nil)
        let cases: [(String, CommunicationRequest)] = [
            ("context.options", request(context: ["options": .string("a, b")])),
            ("context.options[1]", options([good, .string("b")])),
            ("context.options[1].title", options([good, option(["id": .string("b")])])),
            ("context.options[1].id", options([good, option(["title": .string("B")])])),
            ("context.options[1].id", options([good, option(["id": .string("a"), "title": .string("Again")])])),
            ("context.options[0].id", options([option(["id": .string(String(repeating: "x", count: 201)), "title": .string("Long")])])),
            ("context.options[0].description", options([option(["id": .string("a"), "title": .string("A"), "description": .int(3)])])),
            ("context.options[0].price", options([option(["id": .string("a"), "title": .string("A"), "price": .int(3)])])),
        ]
        for (field, request) in cases {
            #expect(refusal(request)?.field == field)
        }
    }

    @Test("a file WhatsApp cannot carry is refused only when WhatsApp is the one way to reach the client")
    func whatsAppOnlyAttachments() throws {
        let whatsapp = Recipient(whatsapp: try PhoneNumber(validating: "+919876543210"))
        let gif = try CRMModel.Attachment(filename: "map.gif", contentType: "image/gif", data: Data(count: 10))
        let bigPNG = try CRMModel.Attachment(filename: "plan.png", contentType: "image/png", data: Data(count: 5 * 1024 * 1024 + 1))
        let pdf = try CRMModel.Attachment(filename: "plan.pdf", contentType: "application/pdf", data: Data(count: 10))
        #expect(refusal(request(recipient: whatsapp, attachments: [pdf, gif]))?.field == "attachments[1].content_type")
        #expect(refusal(request(recipient: whatsapp, attachments: [bigPNG]))?.field == "attachments[0].data")
        #expect(refusal(request(recipient: whatsapp, attachments: [pdf])) == nil)
        let alsoEmail = Recipient(email: try EmailAddress(validating: "priya@example.com"), whatsapp: try PhoneNumber(validating: "+919876543210"))
        #expect(refusal(request(recipient: alsoEmail, attachments: [gif, bigPNG])) == nil)
    }
}
