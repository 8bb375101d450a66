package import Channels
package import CRMModel
import Foundation

/// Every rule a `communicate` request must meet beyond its shape, in one pass, before anything is
/// decided or stored; a refusal names the field (`data.field` on the wire) and what is accepted.
///
/// The shape itself (types, enums, UUIDs, addresses, numbers, names without control characters,
/// attachment types and sizes) is checked while the params are decoded, where the decoder knows the
/// path of each value; what needs the whole request, or the templates, is checked here.
package struct RequestValidator: Sendable {
    private let renderer: TemplateRenderer

    package init(renderer: TemplateRenderer) {
        self.renderer = renderer
    }

    package func validate(_ request: CommunicationRequest) throws(FieldError) {
        if request.recipient.isEmpty {
            throw FieldError(field: "recipient", reason: "must have at least one of email, phone, whatsapp")
        }
        if let key = request.idempotencyKey, key.isEmpty || key.utf8.count > 255 || key.contains(where: \.isNewline) {
            throw FieldError(field: "idempotency_key", reason: "must be 1 to 255 bytes on one line")
        }
        if request.attachments.reduce(0, { $0 + $1.data.count }) > Attachment.maxTotalBytes {
            throw FieldError(field: "attachments", reason: "must total at most \(Attachment.maxTotalBytes / 1_048_576) MB decoded")
        }
        try refuseHeaderInjection(request)
        try checkOptions(request.context)
        // Email carries every accepted file and SMS links to it; WhatsApp has its own limits, which
        // matter now only when it is the one way to reach the client.
        if request.recipient.whatsapp != nil, request.recipient.email == nil, request.recipient.phone == nil {
            for (index, attachment) in request.attachments.enumerated() {
                if let problem = WhatsAppMedia.problem(with: attachment) {
                    let field = WhatsAppMedia.kind(of: attachment.contentType) == nil ? "content_type" : "data"
                    throw FieldError(field: "attachments[\(index)].\(field)", reason: "(\(attachment.filename)) \(problem)")
                }
            }
        }
    }

    /// The choices a message offers (`context.options`): a list of `{id, title, description}`, each
    /// id unique and short enough for WhatsApp to hand back when the client taps it.
    private func checkOptions(_ context: [String: JSONValue]) throws(FieldError) {
        guard let given = context["options"], given != .null else { return }
        guard case .array(let options) = given else {
            throw FieldError(field: "context.options", reason: "must be a list of {id, title, description}")
        }
        var ids: Set<String> = []
        for (index, option) in options.enumerated() {
            let field = "context.options[\(index)]"
            guard case .object(let fields) = option else { throw FieldError(field: field, reason: "must be an object {id, title, description}") }
            guard case .string(let title)? = fields["title"], !title.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw FieldError(field: field + ".title", reason: "must be a non-empty string")
            }
            guard case .string(let id)? = fields["id"], (1...200).contains(id.count), !id.contains(where: \.isNewline) else {
                throw FieldError(field: field + ".id", reason: "must be a string of 1 to 200 characters on one line")
            }
            guard ids.insert(id).inserted else { throw FieldError(field: field + ".id", reason: "repeats an earlier option's id") }
            if let description = fields["description"], description != .null {
                guard case .string = description else { throw FieldError(field: field + ".description", reason: "must be a string") }
            }
            for key in fields.keys where !["id", "title", "description"].contains(key) {
                throw FieldError(field: "\(field).\(key)", reason: "is not an option field; an option has id, title and description")
            }
        }
    }

    /// A context value with a line break that would land in an email's Subject header is refused:
    /// a line break in a header is how headers are injected. (Recipient names and addresses cannot
    /// hold one: they are refused when decoded.)
    private func refuseHeaderInjection(_ request: CommunicationRequest) throws(FieldError) {
        guard request.recipient.email != nil else { return }
        func breaks(_ text: String?) -> Bool {
            text?.unicodeScalars.contains { $0 == "\r" || $0 == "\n" } ?? false
        }
        guard renderer.subjectMayBreakLine(request.messageType, context: request.context),
            breaks(renderer.subject(request.messageType, context: request.context))
        else { return }
        // Which value put it there: the first whose removal takes the line break out.
        let culprit = request.context.keys.sorted().first { key in
            var without = request.context
            without[key] = nil
            return !breaks(renderer.subject(request.messageType, context: without))
        }
        throw FieldError(
            field: culprit.map { "context.\($0)" } ?? "context",
            reason: "contains a line break, which would end up in the email's Subject header; use a single line"
        )
    }
}
