extension String {
    /// The text without white space at either end, as Foundation's `whitespacesAndNewlines` trims
    /// it, without a trip through CFString for every message.
    var trimmedOfWhiteSpace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !Self.isWhiteSpace($0) }),
            let last = scalars.lastIndex(where: { !Self.isWhiteSpace($0) })
        else { return "" }
        return String(scalars[first...last])
    }

    /// Foundation's `whitespacesAndNewlines`: Unicode's White_Space, and the zero width space.
    static func isWhiteSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || scalar == "\u{200B}"
    }
}
