package import CRMModel
package import Foundation

/// What one outbound message becomes at the Cloud API: the messages to post, in order, the last of
/// them the message's own, whose `wamid` its receipts and the client's replies will name.
///
/// The message's own goes last so that its acceptance is the attempt's success: were it first, a
/// file refused after it would fail an attempt whose text the client already has, and the retry
/// would send the text again.
///
/// - Outside the 24-hour window only an approved template may go: the message type's, its body
///   filled from the context, a file in its header when the template has one of that kind (a
///   template has one header). A file it cannot carry is refused (`template_header`), so the next
///   channel takes the message rather than WhatsApp sending it without.
/// - Inside it, options go as an interactive list (`vendor_options`, up to 10) or reply buttons
///   (`selection_confirmation`, up to 3), after the files; otherwise the text goes as the last
///   file's caption when it fits, or as a text message after them.
package struct WhatsAppPayload: Sendable, Equatable {
    package var messages: [WhatsAppOutgoing]
    /// The index in `messages` of the message's own: the last.
    package var primary: Int { messages.count - 1 }

    /// Meta's limits (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages).
    static let maxTextLength = 4096
    static let maxCaptionLength = 1024
    static let maxInteractiveBody = 1024
    static let maxListRows = 10
    static let maxListRowTitle = 24
    static let maxListRowDescription = 72
    static let maxListButton = 20
    static let maxButtons = 3
    static let maxButtonTitle = 20
    /// The label of the button that opens a list, unless the context's `options_label` names one.
    static let defaultListLabel = "View options"

    /// - Parameter mediaIDs: the uploaded id of each of `message.attachments`, in order.
    package init(
        _ message: OutboundMessage, templates: [MessageType: WhatsAppTemplate], mediaIDs: [String]
    ) throws(ProviderError) {
        let to = message.to.hasPrefix("+") ? String(message.to.dropFirst()) : message.to
        let media: [(kind: WhatsAppMedia, media: WhatsAppOutgoing.Media)] = zip(message.attachments, mediaIDs).map { attachment, id in
            let kind = WhatsAppMedia.kind(of: attachment.contentType) ?? .document
            return (kind, WhatsAppOutgoing.Media(id: id, filename: kind == .document ? attachment.filename : nil))
        }
        guard message.replyWindowOpen else {
            messages = [try Self.template(for: message, templates: templates, to: to, header: media.first)]
            return
        }
        let files = media.map { Self.mediaMessage(to: to, $0.kind, $0.media) }
        if let interactive = Self.interactive(for: message) {
            var outgoing = WhatsAppOutgoing(to: to, type: "interactive")
            outgoing.interactive = interactive
            messages = files + [outgoing]
            return
        }
        let body = String(message.content.text.prefix(Self.maxTextLength))
        if !files.isEmpty, body.count <= Self.maxCaptionLength {
            var captioned = media
            captioned[captioned.count - 1].media.caption = body.isEmpty ? nil : body
            messages = captioned.map { Self.mediaMessage(to: to, $0.kind, $0.media) }
            return
        }
        var text = WhatsAppOutgoing(to: to, type: "text")
        text.text = .init(previewURL: body.contains("https://"), body: body)
        messages = files + [text]
    }

    /// The template the message goes as outside the window: the type's, when there is one and the
    /// message's files fit its header: one of its kind when it has one, none when it has not.
    /// Checked before anything is uploaded.
    package static func approvedTemplate(
        for message: OutboundMessage, templates: [MessageType: WhatsAppTemplate]
    ) throws(ProviderError) -> WhatsAppTemplate {
        guard let template = templates[message.messageType] else {
            throw ProviderError(
                "outside the 24-hour window WhatsApp needs an approved template, and the policy names none for \(message.messageType.rawValue)",
                answer: .notSent, providerCode: "no_template"
            )
        }
        // One file exactly when the template has a header (Meta refuses a header template without
        // its parameter), none when it has not.
        let kinds = message.attachments.map { WhatsAppMedia.kind(of: $0.contentType) }
        guard kinds.count == (template.header == nil ? 0 : 1), kinds.allSatisfy({ $0 == template.header }) else {
            let header = template.header.map { "a \($0.rawValue) header" } ?? "no header"
            throw ProviderError(
                "outside the 24-hour window only the template goes, and \(template.name) has \(header) for the message's \(kinds.count) file(s)",
                answer: .notSent, providerCode: "template_header"
            )
        }
        return template
    }

    static func mediaMessage(to: String, _ kind: WhatsAppMedia, _ media: WhatsAppOutgoing.Media) -> WhatsAppOutgoing {
        var outgoing = WhatsAppOutgoing(to: to, type: kind.rawValue)
        switch kind {
        case .document: outgoing.document = media
        case .image: outgoing.image = media
        }
        return outgoing
    }

    /// The message type's approved template, its body parameters from the context.
    static func template(
        for message: OutboundMessage, templates: [MessageType: WhatsAppTemplate], to: String, header: (kind: WhatsAppMedia, media: WhatsAppOutgoing.Media)?
    ) throws(ProviderError) -> WhatsAppOutgoing {
        let template = try approvedTemplate(for: message, templates: templates)
        var components: [WhatsAppOutgoing.Template.Component] = []
        if let header {
            var parameter = WhatsAppOutgoing.Parameter(type: header.kind.rawValue)
            switch header.kind {
            case .document: parameter.document = header.media
            case .image: parameter.image = header.media
            }
            components.append(.init(type: "header", parameters: [parameter]))
        }
        let parameters = template.parameters.map { key in
            // Meta refuses an empty parameter; a missing value reads as a dash.
            let text = message.context[key]?.displayText ?? ""
            return WhatsAppOutgoing.Parameter.text(text.isEmpty ? "-" : text)
        }
        if !parameters.isEmpty { components.append(.init(type: "body", parameters: parameters)) }
        var outgoing = WhatsAppOutgoing(to: to, type: "template")
        outgoing.template = .init(
            name: template.name, language: .init(code: template.language ?? message.language),
            components: components.isEmpty ? nil : components
        )
        return outgoing
    }

    /// The options as a list or buttons, when the message type offers them that way and they fit;
    /// nil leaves them as the numbered lines of the text.
    static func interactive(for message: OutboundMessage) -> WhatsAppOutgoing.Interactive? {
        let options = message.content.options
        guard !options.isEmpty, let body = message.content.interactiveText, !body.isEmpty, body.count <= maxInteractiveBody else {
            return nil
        }
        switch message.messageType {
        case .vendorOptions where options.count <= maxListRows:
            let rows = options.map { option in
                WhatsAppOutgoing.Interactive.Row(
                    id: option.id, title: ChoiceOption.shortened(option.title, to: maxListRowTitle),
                    description: option.description.map { ChoiceOption.shortened($0, to: maxListRowDescription) }
                )
            }
            let label = message.context["options_label"]?.displayText ?? ""
            return .init(
                type: "list", body: .init(text: body),
                action: .init(
                    button: ChoiceOption.shortened(label.isEmpty ? defaultListLabel : label, to: maxListButton),
                    sections: [.init(rows: rows)]
                )
            )
        case .selectionConfirmation where options.count <= maxButtons:
            let buttons = options.map { option in
                WhatsAppOutgoing.Interactive.Button(reply: .init(id: option.id, title: ChoiceOption.shortened(option.title, to: maxButtonTitle)))
            }
            // Meta refuses two buttons with one title; numbered lines say it as well.
            guard Set(buttons.map(\.reply.title)).count == buttons.count else { return nil }
            return .init(type: "button", body: .init(text: body), action: .init(buttons: buttons))
        default:
            return nil
        }
    }

    /// The JSON of each message, in order.
    package func encoded() throws(ProviderError) -> [Data] {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return try messages.map { try encoder.encode($0) }
        } catch {
            throw ProviderError("cannot encode the WhatsApp message", answer: .notSent, providerCode: "unencodable")
        }
    }
}
