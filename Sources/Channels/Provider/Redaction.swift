import Foundation

/// Providers echo addresses back in their error messages ("The 'To' number +15005550001 is not a valid
/// phone number"). Those messages go into attempts and logs, which hold no personal data in the clear,
/// so phone numbers and email addresses are replaced before they are kept.
enum Redaction {
    private static let patterns: [(NSRegularExpression, String)] = [
        (try! NSRegularExpression(pattern: #"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"#), "[address]"),
        (try! NSRegularExpression(pattern: #"\+?\d[\d ()-]{6,}\d"#), "[number]"),
    ]

    static func redact(_ text: String) -> String {
        var result = text
        for (pattern, replacement) in patterns {
            result = pattern.stringByReplacingMatches(
                in: result, range: NSRange(result.startIndex..., in: result), withTemplate: replacement
            )
        }
        return result
    }
}
