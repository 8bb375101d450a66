extension RenderedMessage {
    /// Several messages to one person as one: low-urgency messages that fall due together go out as
    /// a single digest per channel instead of a burst.
    package static func digest(_ parts: [RenderedMessage]) -> RenderedMessage {
        guard parts.count > 1 else { return parts.first ?? RenderedMessage(text: "") }
        let subjects = parts.compactMap(\.subject)
        let htmls = parts.compactMap(\.html)
        return RenderedMessage(
            subject: subjects.isEmpty ? nil : "\(parts.count) updates: " + subjects.joined(separator: "; "),
            html: htmls.isEmpty ? nil : htmls.joined(separator: "\n<hr>\n"),
            text: parts.map(\.text).joined(separator: "\n\n"),
            missingVariables: parts.flatMap(\.missingVariables).reduce(into: []) { names, name in
                if !names.contains(name) { names.append(name) }
            }
        )
    }
}
