package import CRMModel
package import Foundation
import Mustache

/// Renders a message type for a channel from the workflow's context, with Mustache, in the client's
/// language when a template for it exists, else in English.
///
/// Email templates start with a `Subject:` line and a blank line, then the HTML; the plain-text
/// alternative is derived from the HTML so the two never drift apart. SMS and WhatsApp templates are
/// plain text and are not HTML-escaped. A variable missing from the context renders as empty and is
/// named in `RenderedMessage.missingVariables`. SMS text is shortened to `smsMaxSegments` segments on
/// a word boundary, links kept whole.
///
/// Templates are `<message_type>.<channel>.mustache` (English) and
/// `<message_type>.<channel>.<language>.mustache` (another language, a BCP 47 tag in lowercase such
/// as `hi` or `pt-br`), shipped in the binary or put in the overrides folder, which wins.
package struct TemplateRenderer: Sendable {
    /// One parsed template and the variables it reads outside any section: those are the ones that
    /// render as empty when the context lacks them (inside a section, a missing value hides the
    /// section, which the template means).
    private struct Parsed: Sendable {
        var template: MustacheTemplate
        var variables: [String]
    }

    private struct Email: Sendable {
        var subject: Parsed
        var html: Parsed
        /// Whether the Subject line's template itself has a line break in it.
        var subjectSpansLines: Bool
    }

    private enum Loaded: Sendable {
        case email(Email)
        case text(Parsed)
    }

    /// By `<message_type>.<channel>` or `<message_type>.<channel>.<language>`.
    private var templates: [String: Loaded] = [:]
    package let smsMaxSegments: Int

    /// Loads the shipped templates and every template in `overrides`, which replace shipped ones of
    /// the same name.
    package init(overrides: URL? = nil, smsMaxSegments: Int = 3) throws(TemplateError) {
        self.smsMaxSegments = smsMaxSegments
        var sources: [String: String] = [:]
        for (name, bytes) in EmbeddedTemplates.all {
            sources[name] = String(decoding: bytes, as: UTF8.self)
        }
        if let overrides {
            for (name, source) in try Self.sources(in: overrides) {
                sources[name] = source
            }
        }
        for (name, source) in sources {
            let parts = name.split(separator: ".")
            guard parts.count >= 2, MessageType(rawValue: String(parts[0])) != nil, let channel = Channel(rawValue: String(parts[1])) else {
                throw TemplateError(template: name, message: "is not named <message_type>.<channel>[.<language>].mustache")
            }
            switch channel {
            case .email: templates[name] = .email(try Self.parseEmail(source, name: name))
            case .sms, .whatsapp: templates[name] = .text(try Self.parse(Self.textPragma + source, name: name))
            }
        }
        for type in MessageType.allCases {
            for channel in Channel.allCases where templates["\(type.rawValue).\(channel.rawValue)"] == nil {
                throw TemplateError(template: "\(type.rawValue).\(channel.rawValue)", message: "no such template is shipped")
            }
        }
    }

    package func render(
        _ type: MessageType, for channel: Channel, context: [String: JSONValue], language: String = "en"
    ) -> RenderedMessage {
        let options = ChoiceOption.options(in: context, for: type)
        var values = Self.values(context, options: options)
        func missing(_ parsed: Parsed...) -> [String] {
            var names: [String] = []
            for name in parsed.flatMap(\.variables) where !names.contains(name) {
                let root = String(name.split(separator: ".").first ?? "")
                // The two the renderer provides are optional by design.
                if root == "options" || root == "interactive" { continue }
                if context[root] == nil || context[root] == .null { names.append(name) }
            }
            return names
        }
        switch template(type, channel, language) {
        case .email(let email):
            let html = email.html.template.render(values)
            let subject = email.subject.template.render(values).trimmedOfWhiteSpace
            return RenderedMessage(
                subject: subject, html: html, text: HTMLText.plainText(from: html), missingVariables: missing(email.subject, email.html),
                options: options
            )
        case .text(let parsed):
            var text = parsed.template.render(values).trimmedOfWhiteSpace
            if channel == .sms {
                text = SMSSegments.shortened(text, toSegments: smsMaxSegments)
            }
            var interactiveText: String?
            if channel == .whatsapp, !options.isEmpty {
                values["interactive"] = true
                interactiveText = parsed.template.render(values).trimmedOfWhiteSpace
            }
            return RenderedMessage(text: text, missingVariables: missing(parsed), options: options, interactiveText: interactiveText)
        }
    }

    /// The email's Subject line alone, as `render` gives it: what intake checks for line breaks,
    /// without rendering the rest.
    package func subject(_ type: MessageType, context: [String: JSONValue], language: String = "en") -> String {
        guard case .email(let email) = template(type, .email, language) else { return "" }
        let values = Self.values(context, options: ChoiceOption.options(in: context, for: type))
        return email.subject.template.render(values).trimmedOfWhiteSpace
    }

    /// Whether `subject` could give a line break for this context: only when the Subject line's
    /// template spans lines or a text in the context has one (what it shows comes from those two).
    /// Intake asks this first, so that most requests are not rendered twice.
    package func subjectMayBreakLine(_ type: MessageType, context: [String: JSONValue], language: String = "en") -> Bool {
        guard case .email(let email) = template(type, .email, language) else { return false }
        return email.subjectSpansLines || context.contains { key, value in Self.hasLineBreak(key) || Self.hasLineBreak(value) }
    }

    private static func hasLineBreak(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): hasLineBreak(text)
        case .array(let items): items.contains(where: hasLineBreak)
        case .object(let fields): fields.contains { key, value in hasLineBreak(key) || hasLineBreak(value) }
        default: false
        }
    }

    private static func hasLineBreak(_ text: String) -> Bool {
        text.utf8.contains { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }
    }

    /// What the templates see: the context's values, the choices numbered
    /// (`{{#options}}{{number}}. {{title}}{{/options}}`), whether the context gave them or they come
    /// from the vendor combinations, and `interactive` false.
    private static func values(_ context: [String: JSONValue], options: [ChoiceOption]) -> [String: Any] {
        var values = context.compactMapValues { $0.plainValue }
        // Set even when absent: Mustache looks a missing name up the enclosing context, so an option
        // without a description would show the context's own `description`.
        values["options"] = options.isEmpty ? nil : options.enumerated().map { index, option -> [String: Any] in
            ["number": index + 1, "id": option.id, "title": option.title, "description": option.description ?? false]
        }
        values["interactive"] = false
        return values
    }

    /// The template in `language` if there is one, in its base language (`pt` for `pt-BR`) if not,
    /// in English otherwise.
    private func template(_ type: MessageType, _ channel: Channel, _ language: String) -> Loaded {
        let base = "\(type.rawValue).\(channel.rawValue)"
        // Not `replacingOccurrences`: on Linux it goes through Foundation's string search, on every send.
        let tag = String(language.lowercased().map { $0 == "_" ? "-" : $0 })
        let primary = String(tag.split(separator: "-").first ?? "")
        for candidate in [tag, primary] where !candidate.isEmpty && candidate != "en" {
            if let found = templates["\(base).\(candidate)"] { return found }
        }
        return templates[base]!
    }

    private static let textPragma = "{{% CONTENT_TYPE: TEXT}}"

    /// Every `*.mustache` file in `folder`, by name without the extension.
    private static func sources(in folder: URL) throws(TemplateError) -> [String: String] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw TemplateError(template: folder.path, message: "cannot list the templates folder: \(error.localizedDescription)")
        }
        var sources: [String: String] = [:]
        for file in files where file.hasSuffix(".mustache") {
            let name = String(file.dropLast(".mustache".count))
            do {
                sources[name] = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            } catch {
                throw TemplateError(template: name, message: "cannot read \(file): \(error.localizedDescription)")
            }
        }
        return sources
    }

    private static func parseEmail(_ source: String, name: String) throws(TemplateError) -> Email {
        let normalized = source.replacingOccurrences(of: "\r\n", with: "\n")
        guard normalized.hasPrefix("Subject:"), let split = normalized.range(of: "\n\n") else {
            throw TemplateError(template: name, message: "an email template starts with a 'Subject:' line and a blank line")
        }
        let subject = normalized[normalized.index(normalized.startIndex, offsetBy: 8)..<split.lowerBound]
        return Email(
            subject: try parse(textPragma + subject, name: name),
            html: try parse(String(normalized[split.upperBound...]), name: name),
            subjectSpansLines: hasLineBreak(String(subject))
        )
    }

    private static func parse(_ source: String, name: String) throws(TemplateError) -> Parsed {
        do {
            return Parsed(template: try MustacheTemplate(string: source), variables: topLevelVariables(in: source))
        } catch {
            throw TemplateError(template: name, message: "does not parse: \(error)")
        }
    }

    /// The names of `{{name}}`, `{{{name}}}` and `{{& name}}` tags outside every section, but for those
    /// the template gives a fallback for (`{{^name}}...{{/name}}`). A template that changes its
    /// delimiters is not scanned (nothing is reported for it).
    static func topLevelVariables(in source: String) -> [String] {
        var names: [String] = []
        var fallbacks: Set<String> = []
        var depth = 0
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            rest = rest[open.upperBound...]
            let triple = rest.hasPrefix("{")
            guard let close = rest.range(of: triple ? "}}}" : "}}") else { break }
            var tag = rest[rest.startIndex..<close.lowerBound]
            rest = rest[close.upperBound...]
            if triple { tag = tag.dropFirst() }
            let trimmed = tag.trimmingCharacters(in: .whitespaces)
            guard let sigil = trimmed.first else { continue }
            switch sigil {
            case "^":
                fallbacks.insert(trimmed.dropFirst().trimmingCharacters(in: .whitespaces))
                depth += 1
            case "#": depth += 1
            case "/": depth = max(0, depth - 1)
            case "=": return []
            case "!", ">", "%", "$", "<": continue
            default:
                let name = (sigil == "&" ? String(trimmed.dropFirst()) : trimmed).trimmingCharacters(in: .whitespaces)
                if depth == 0, !name.isEmpty, name != ".", !names.contains(name) { names.append(name) }
            }
        }
        return names.filter { !fallbacks.contains($0) }
    }
}
