@testable import Channels
import CRMModel
import Foundation
import Testing

@Suite("Templates")
struct TemplateRendererTests {
    static let renderer = try! TemplateRenderer()

    /// Contexts shaped like the seed's examples.
    static let seedContext: [String: JSONValue] = [
        "client_name": .string("Priya Sharma"),
        "event_type": .string("wedding"),
        "event_date": .string("2026-02-14"),
        "guest_count": .int(150),
        "budget_strategies": .array([
            .object(["name": .string("Essential"), "total_cost": .string("₹8,00,000"), "description": .string("Focus on the essentials")]),
            .object(["name": .string("Premium"), "total_cost": .string("₹15,00,000")]),
        ]),
        "vendor_combinations": .array([
            .object(["name": .string("Option 1"), "total_cost": .string("₹9,50,000"),
                     "vendors": .array([.object(["category": .string("venue"), "name": .string("Grand Palace")])])]),
        ]),
        "selected_vendors": .array([.object(["category": .string("caterer"), "name": .string("Spice & Co")])]),
        "total_cost": .string("₹9,50,000"),
        "blueprint_url": .string("https://plans.example.com/b/42?x=1&y=2"),
        "pending_items": .array([.string("guest list"), .string("menu choice")]),
        "deadline": .string("2026-01-10"),
        "error_message": .string("a vendor cancelled"),
    ]

    static let everyPair = MessageType.allCases.flatMap { type in Channel.allCases.map { (type, $0) } }

    @Test("every type renders for every channel from the seed's context", arguments: everyPair)
    func seedContext(_ type: MessageType, _ channel: Channel) {
        let message = Self.renderer.render(type, for: channel, context: Self.seedContext)
        #expect(!message.text.isEmpty)
        #expect(!message.text.contains("{{"))
        if channel == .email {
            #expect(message.subject?.isEmpty == false)
            #expect(message.html?.contains("<html>") == true)
        } else {
            #expect(message.subject == nil && message.html == nil)
            #expect(!message.text.contains("&amp;"), "text channels are not HTML-escaped")
        }
        #expect(message.text.contains("Priya Sharma"))
    }

    @Test("every type renders for every channel from an empty context", arguments: everyPair)
    func emptyContext(_ type: MessageType, _ channel: Channel) {
        let message = Self.renderer.render(type, for: channel, context: [:])
        #expect(!message.text.isEmpty)
        #expect(channel != .email || message.subject?.isEmpty == false)
    }

    @Test("HTML escapes the caller's values; the plain text reads naturally")
    func escaping() {
        let message = Self.renderer.render(.welcome, for: .email, context: ["client_name": .string("<b>Ann & Raj</b>")])
        #expect(message.html?.contains("&lt;b&gt;Ann &amp; Raj&lt;/b&gt;") == true)
        #expect(message.text.hasPrefix("Welcome, <b>Ann & Raj</b>!"))
        #expect(message.subject == "Welcome, <b>Ann & Raj</b>! Let's plan your event")
    }

    @Test("links keep their address in the plain text")
    func links() {
        let message = Self.renderer.render(.blueprintDelivery, for: .email, context: Self.seedContext)
        #expect(message.text.contains("Open your blueprint (https://plans.example.com/b/42?x=1&y=2)"))
    }

    @Test("a subject is said to possibly break a line only for a line break in the context, at any depth, or in its template")
    func subjectLineBreaks() throws {
        #expect(!Self.renderer.subjectMayBreakLine(.reminder, context: Self.seedContext))
        #expect(!Self.renderer.subjectMayBreakLine(.reminder, context: [:]))
        for text in ["a\nb", "a\rb", "\r\n"] {
            #expect(Self.renderer.subjectMayBreakLine(.reminder, context: ["event_name": .string(text)]))
            #expect(Self.renderer.subjectMayBreakLine(.reminder, context: ["plan": .object(["rows": .array([.int(1), .string(text)])])]))
            #expect(Self.renderer.subjectMayBreakLine(.reminder, context: ["plan": .object([text: .null])]))
        }
        // A line break its template puts there, whatever the context.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "Subject: {{#a}}one\r{{/a}}two\n\n<p>body</p>".write(
            to: folder.appendingPathComponent("reminder.email.mustache"), atomically: true, encoding: .utf8
        )
        let spanning = try TemplateRenderer(overrides: folder)
        #expect(spanning.subjectMayBreakLine(.reminder, context: [:]))
        #expect(spanning.subject(.reminder, context: ["a": .bool(true)]).contains("\r"))
        #expect(!spanning.subjectMayBreakLine(.welcome, context: [:]))
    }

    @Test("a template folder replaces the shipped template of the same name")
    func overrides() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "Hello {{client_name}} from the override".write(to: folder.appendingPathComponent("welcome.sms.mustache"), atomically: true, encoding: .utf8)
        let renderer = try TemplateRenderer(overrides: folder)
        #expect(renderer.render(.welcome, for: .sms, context: ["client_name": .string("Ann")]).text == "Hello Ann from the override")
        #expect(renderer.render(.welcome, for: .whatsapp, context: [:]).text == Self.renderer.render(.welcome, for: .whatsapp, context: [:]).text)
    }

    @Test("an email override without a subject line is refused at start-up")
    func badOverride() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "<p>no subject</p>".write(to: folder.appendingPathComponent("reminder.email.mustache"), atomically: true, encoding: .utf8)
        #expect(throws: TemplateError.self) { try TemplateRenderer(overrides: folder) }
    }

    @Test("missing variables are named, except those the template gives a fallback for")
    func missingVariables() {
        #expect(Self.renderer.render(.welcome, for: .sms, context: [:]).missingVariables == ["client_name"])
        #expect(Self.renderer.render(.welcome, for: .sms, context: Self.seedContext).missingVariables.isEmpty)
        #expect(TemplateRenderer.topLevelVariables(in: "{{a}} {{{b}}} {{& c}} {{#s}}{{d}}{{/s}} {{e}}{{^e}}x{{/e}} {{! note}}") == ["a", "b", "c"])
    }

    @Test("a template in the client's language is used when there is one, its base language next, English last")
    func languages() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "नमस्ते {{client_name}}".write(to: folder.appendingPathComponent("welcome.sms.hi.mustache"), atomically: true, encoding: .utf8)
        try "Olá {{client_name}}".write(to: folder.appendingPathComponent("welcome.sms.pt.mustache"), atomically: true, encoding: .utf8)
        let renderer = try TemplateRenderer(overrides: folder)
        let context: [String: JSONValue] = ["client_name": .string("Ann")]
        #expect(renderer.render(.welcome, for: .sms, context: context, language: "hi").text == "नमस्ते Ann")
        #expect(renderer.render(.welcome, for: .sms, context: context, language: "pt-BR").text == "Olá Ann")
        #expect(renderer.render(.welcome, for: .sms, context: context, language: "fr").text.hasPrefix("Hi Ann, welcome!"))
    }

    @Test("SMS are shortened to whole words with links kept whole")
    func shortening() {
        let link = "https://plans.example.com/blueprint/42?token=abcdef"
        let text = String(repeating: "word ", count: 60) + "see " + link + " today"
        let short = SMSSegments.shortened(text, toSegments: 1)
        #expect(SMSSegments.count(for: short) == 1)
        #expect(short.hasSuffix("... " + link))
        #expect(short.components(separatedBy: " ").dropLast(2).allSatisfy { $0 == "word" })
        #expect(SMSSegments.shortened("short", toSegments: 1) == "short")
        let unicode = String(repeating: "नमस्ते ", count: 30)
        #expect(SMSSegments.count(for: SMSSegments.shortened(unicode, toSegments: 2)) <= 2)
    }
}

