package import CRMModel
package import Foundation
import Mustache

/// Renders a message type for a channel from the workflow's context, with Mustache.
///
/// Email templates start with a `Subject:` line and a blank line, then the HTML; the plain-text
/// alternative is derived from the HTML so the two never drift apart. SMS and WhatsApp templates are
/// plain text and are not HTML-escaped. A variable missing from the context renders as empty.
package struct TemplateRenderer: Sendable {
    private struct Email: Sendable {
        var subject: MustacheTemplate
        var html: MustacheTemplate
    }

    private var emails: [MessageType: Email] = [:]
    private var texts: [String: MustacheTemplate] = [:]

    /// Loads the shipped templates, replaced by any `<message_type>.<channel>.mustache` file found in
    /// `overrides`.
    package init(overrides: URL? = nil) throws(TemplateError) {
        for type in MessageType.allCases {
            for channel in Channel.allCases {
                let name = "\(type.rawValue).\(channel.rawValue)"
                let source = try Self.source(named: name, overrides: overrides)
                switch channel {
                case .email: emails[type] = try Self.parseEmail(source, name: name)
                case .sms, .whatsapp: texts[name] = try Self.parse(Self.textPragma + source, name: name)
                }
            }
        }
    }

    package func render(_ type: MessageType, for channel: Channel, context: [String: JSONValue]) -> RenderedMessage {
        let values = context.compactMapValues { $0.plainValue }
        switch channel {
        case .email:
            let email = emails[type]!
            let html = email.html.render(values)
            let subject = email.subject.render(values).trimmingCharacters(in: .whitespacesAndNewlines)
            return RenderedMessage(subject: subject, html: html, text: HTMLText.plainText(from: html))
        case .sms, .whatsapp:
            let text = texts["\(type.rawValue).\(channel.rawValue)"]!.render(values)
            return RenderedMessage(text: text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    private static let textPragma = "{{% CONTENT_TYPE: TEXT}}"

    private static func source(named name: String, overrides: URL?) throws(TemplateError) -> String {
        if let overrides {
            let file = overrides.appendingPathComponent("\(name).mustache")
            if FileManager.default.fileExists(atPath: file.path) {
                do { return try String(contentsOf: file, encoding: .utf8) } catch {
                    throw TemplateError(template: name, message: "cannot read \(file.path): \(error.localizedDescription)")
                }
            }
        }
        guard let bytes = EmbeddedTemplates.all[name] else {
            throw TemplateError(template: name, message: "no such template is shipped")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func parseEmail(_ source: String, name: String) throws(TemplateError) -> Email {
        let normalized = source.replacingOccurrences(of: "\r\n", with: "\n")
        guard normalized.hasPrefix("Subject:"), let split = normalized.range(of: "\n\n") else {
            throw TemplateError(template: name, message: "an email template starts with a 'Subject:' line and a blank line")
        }
        let subject = normalized[normalized.index(normalized.startIndex, offsetBy: 8)..<split.lowerBound]
        return Email(
            subject: try parse(textPragma + subject, name: name),
            html: try parse(String(normalized[split.upperBound...]), name: name)
        )
    }

    private static func parse(_ source: String, name: String) throws(TemplateError) -> MustacheTemplate {
        do {
            return try MustacheTemplate(string: source)
        } catch {
            throw TemplateError(template: name, message: "does not parse: \(error)")
        }
    }
}
