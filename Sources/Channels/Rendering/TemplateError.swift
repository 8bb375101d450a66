/// A template could not be loaded or is missing.
package struct TemplateError: Error, Sendable, CustomStringConvertible {
    package var template: String
    package var message: String

    package init(template: String, message: String) {
        self.template = template
        self.message = message
    }

    package var description: String { "template \(template): \(message)" }
}
