package import Channels
package import CRMModel

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
    }

    /// A context value with a line break that would land in an email's Subject header is refused:
    /// a line break in a header is how headers are injected. (Recipient names and addresses cannot
    /// hold one: they are refused when decoded.)
    private func refuseHeaderInjection(_ request: CommunicationRequest) throws(FieldError) {
        guard request.recipient.email != nil else { return }
        func breaks(_ text: String?) -> Bool {
            text?.unicodeScalars.contains { $0 == "\r" || $0 == "\n" } ?? false
        }
        guard breaks(renderer.render(request.messageType, for: .email, context: request.context).subject) else { return }
        // Which value put it there: the first whose removal takes the line break out.
        let culprit = request.context.keys.sorted().first { key in
            var without = request.context
            without[key] = nil
            return !breaks(renderer.render(request.messageType, for: .email, context: without).subject)
        }
        throw FieldError(
            field: culprit.map { "context.\($0)" } ?? "context",
            reason: "contains a line break, which would end up in the email's Subject header; use a single line"
        )
    }
}
