import Channels
import CRMModel
import Foundation

/// Every shipped template rendered with a hostile context (any JSON object, the options lists
/// included): no crash, what a context value carries shows in an email's HTML only escaped, and a
/// subject `subjectMayBreakLine` clears has no line break.
enum TemplateTarget {
    static let renderer: TemplateRenderer = {
        do { return try TemplateRenderer() } catch { fatalError("the shipped templates do not load: \(error)") }
    }()

    static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let choice = Int(input.byte())
        guard case .object(var context) = try? JSONParser.parse(input.bytes()) else { return }
        // A marker in every value the templates commonly read, so escaping is checked where it matters.
        for key in ["client_name", "event_name", "message", "venue"] where context[key] == nil {
            context[key] = .string("<i>marker</i>")
        }
        let type = MessageType.allCases[choice % MessageType.allCases.count]
        let channel = Channel.allCases[(choice / MessageType.allCases.count) % Channel.allCases.count]
        let rendered = renderer.render(type, for: channel, context: context)
        if let html = rendered.html {
            require(!html.contains("<i>marker</i>"), "a context value reached an email's HTML unescaped")
            _ = HTMLText.plainText(from: html)
        }
        let subject = renderer.subject(type, context: context)
        if !renderer.subjectMayBreakLine(type, context: context) {
            // Intake renders the subject only when this says it may break: it must never be wrong.
            require(!subject.unicodeScalars.contains { $0 == "\r" || $0 == "\n" }, "a line break in a subject said to have none")
        }
    }
}
