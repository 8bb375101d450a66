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
}
