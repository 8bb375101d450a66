import Foundation

/// What a client's reply means for the workflow, matched on whole words ("no" is not in "know", "yes"
/// is not in "yesterday") so the workflow can act on short answers and ask a person about the rest.
package struct ReplyIntent: Sendable, Equatable {
    package enum Kind: String, Sendable, Equatable {
        case confirmation, rejection, help, selection, unknown
    }

    package var kind: Kind
    /// The option's number, for `selection`.
    package var selection: Int?

    package init(_ kind: Kind, selection: Int? = nil) {
        self.kind = kind
        self.selection = selection
    }

    private static let confirmations: Set<String> = [
        "yes", "y", "yep", "yeah", "yup", "confirm", "confirmed", "confirming", "ok", "okay", "sure",
        "approve", "approved", "accept", "accepted", "agree", "agreed", "absolutely", "perfect", "great",
    ]
    private static let confirmationPhrases: [[String]] = [["sounds", "good"], ["looks", "good"], ["go", "ahead"]]
    private static let rejections: Set<String> = [
        "no", "n", "nope", "nah", "reject", "rejected", "decline", "declined", "cancel", "refuse", "don't",
        "dont", "won't", "wont", "can't", "cant",
    ]
    private static let rejectionPhrases: [[String]] = [["not", "interested"], ["no", "thanks"], ["not", "ok"], ["not", "okay"]]
    private static let helps: Set<String> = ["help", "info", "assist", "support", "question", "confused"]
    private static let selectionWords: Set<String> = ["option", "choice", "choose", "chose", "pick", "select", "number", "no."]

    /// The intent of `text`. A number is a selection when it stands alone ("2", "#2") or follows a
    /// word of choosing ("option 2", "I pick 3"); "yes" and "no" together mean nothing certain.
    package static func classify(_ text: String) -> ReplyIntent {
        let words = self.words(text)
        guard !words.isEmpty else {
            return text.trimmingCharacters(in: .whitespacesAndNewlines) == "?" ? ReplyIntent(.help) : ReplyIntent(.unknown)
        }
        if let number = selection(in: words) {
            return ReplyIntent(.selection, selection: number)
        }
        let confirms = words.contains(where: confirmations.contains) || contains(confirmationPhrases, in: words)
        let rejects = words.contains(where: rejections.contains) || contains(rejectionPhrases, in: words)
        switch (confirms, rejects) {
        case (true, false): return ReplyIntent(.confirmation)
        // "not ok" holds a confirmation word inside a rejection phrase; the phrase wins.
        case (true, true) where contains(rejectionPhrases, in: words): return ReplyIntent(.rejection)
        case (false, true): return ReplyIntent(.rejection)
        case (true, true): return ReplyIntent(.unknown)
        case (false, false): break
        }
        if words.contains(where: helps.contains) || text.contains("?") && words.count <= 2 {
            return ReplyIntent(.help)
        }
        return ReplyIntent(.unknown)
    }

    private static func selection(in words: [String]) -> Int? {
        let numbers = words.indices.filter { Int(words[$0].trimmingPrefix("#")) != nil }
        guard numbers.count == 1, let index = numbers.first,
            let number = Int(words[index].trimmingPrefix("#")), (1...99).contains(number)
        else { return nil }
        let alone = words.count == 1
        let chosen = words[..<index].contains(where: selectionWords.contains) || words[index].hasPrefix("#")
        return alone || chosen ? number : nil
    }

    private static func contains(_ phrases: [[String]], in words: [String]) -> Bool {
        phrases.contains { phrase in
            words.count >= phrase.count && (0...(words.count - phrase.count)).contains { Array(words[$0..<$0 + phrase.count]) == phrase }
        }
    }

    /// Lowercased words: letters, digits, apostrophes and a leading `#`, so "don't" and "#2" stay whole.
    static func words(_ text: String) -> [String] {
        text.lowercased().replacingOccurrences(of: "\u{2019}", with: "'")
            .split { !($0.isLetter || $0.isNumber || $0 == "'" || $0 == "#") }
            .map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "'")) }
            .filter { !$0.isEmpty }
    }
}
