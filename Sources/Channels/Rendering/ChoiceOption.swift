package import CRMModel
import Foundation

/// One choice a message offers the client: a row of a WhatsApp list, a reply button, or a numbered
/// line where a channel cannot show either. Its `id` comes back with the client's choice.
package struct ChoiceOption: Sendable, Equatable {
    package var id: String
    package var title: String
    package var description: String?

    package init(id: String, title: String, description: String? = nil) {
        self.id = id
        self.title = title
        self.description = description
    }

    /// The options a message offers: the context's `options` (`[{id, title, description}]`), or for
    /// `vendor_options` without them, one per `vendor_combinations` entry with a `name` (its `id`, or
    /// its number from 1, its `name` and `total_cost`). Entries without a title are left out.
    package static func options(in context: [String: JSONValue], for type: MessageType) -> [ChoiceOption] {
        if case .array(let given)? = context["options"] {
            return given.enumerated().compactMap { index, value in
                guard case .object(let fields) = value, let title = fields["title"]?.displayText, !title.isEmpty else { return nil }
                let id = fields["id"]?.displayText ?? ""
                let description = fields["description"]?.displayText ?? ""
                return ChoiceOption(id: id.isEmpty ? "\(index + 1)" : id, title: title, description: description.isEmpty ? nil : description)
            }
        }
        guard type == .vendorOptions, case .array(let combinations)? = context["vendor_combinations"] else { return [] }
        var derived = combinations.compactMap { value -> ChoiceOption? in
            guard case .object(let fields) = value, let name = fields["name"]?.displayText, !name.isEmpty else { return nil }
            let cost = fields["total_cost"]?.displayText ?? ""
            return ChoiceOption(id: fields["id"]?.displayText ?? "", title: name, description: cost.isEmpty ? nil : cost)
        }
        // The combinations' own ids only when every one can come back from a tap (unique, 1 to 200
        // characters, as intake holds `options` to); else all are numbered, as the text numbers them.
        let ids = derived.map(\.id)
        if Set(ids).count != ids.count || ids.contains(where: { $0.isEmpty || $0.count > 200 || $0.contains(where: \.isNewline) }) {
            for index in derived.indices { derived[index].id = "\(index + 1)" }
        }
        return derived
    }

    /// `text` in at most `limit` characters: cut at the last word boundary that fits (unless that
    /// loses more than half), with an ellipsis to show something was cut.
    package static func shortened(_ text: String, to limit: Int) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count > limit else { return trimmed }
        let room = trimmed.prefix(limit - 1)
        var cut = room
        if let space = room.lastIndex(where: \.isWhitespace), room.distance(from: room.startIndex, to: space) >= limit / 2 {
            cut = room[..<space]
        }
        return cut.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters)) + "…"
    }
}
