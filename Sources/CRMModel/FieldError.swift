/// Input that breaks a rule: which field, and what was wrong with it in words a caller can act on.
///
/// `reason` never repeats the rejected value: it may be a message body or a contact detail.
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A dotted path from the params object, such as `recipient.email`.
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    /// The same error, with `prefix` put before the field path.
    public func nested(under prefix: String) -> FieldError {
        FieldError(field: field.isEmpty ? prefix : "\(prefix).\(field)", reason: reason)
    }

    public var description: String { "\(field): \(reason)" }
}
