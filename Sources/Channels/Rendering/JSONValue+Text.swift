package import CRMModel

extension JSONValue {
    /// A context value as a line of text: text as it is, numbers plainly, lists joined; null as nothing.
    package var displayText: String {
        switch self {
        case .string(let text): text
        case .array(let items): items.map(\.displayText).filter { !$0.isEmpty }.joined(separator: ", ")
        case .null: ""
        default: plainValue.map { "\($0)" } ?? ""
        }
    }
}
