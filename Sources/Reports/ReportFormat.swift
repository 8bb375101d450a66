/// Number formatting shared by the PDF and the dashboard. Written by hand rather than with
/// `NumberFormatter` so the output never depends on the server's locale.
enum ReportFormat {
    /// "96.2%": a rate 0...1 with one decimal; "–" for a value that is not a number.
    static func percent(_ rate: Double) -> String {
        guard rate.isFinite else { return "–" }
        let tenths = Int((rate * 1000).rounded())
        let sign = tenths < 0 ? "-" : ""
        let magnitude = abs(tenths)
        return "\(sign)\(magnitude / 10).\(magnitude % 10)%"
    }

    /// "96%" above a bar; small rates keep a decimal ("4.8%") because they are the ones read closely.
    static func shortPercent(_ rate: Double) -> String {
        guard rate.isFinite else { return "–" }
        if rate >= 0.0995 || rate <= 0 { return "\(Int((rate * 100).rounded()))%" }
        return percent(rate)
    }

    /// "12,345".
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }

    /// An axis tick: "750", "2.5k", "12k", "1.2M".
    static func compact(_ value: Double) -> String {
        func trimmed(_ scaled: Double, _ suffix: String) -> String {
            let tenths = Int((scaled * 10).rounded())
            return tenths % 10 == 0 ? "\(tenths / 10)\(suffix)" : "\(tenths / 10).\(tenths % 10)\(suffix)"
        }
        let magnitude = abs(value)
        let sign = value < 0 ? "-" : ""
        if magnitude >= 1_000_000 { return sign + trimmed(magnitude / 1_000_000, "M") }
        if magnitude >= 1_000 { return sign + trimmed(magnitude / 1_000, "k") }
        return sign + trimmed(magnitude, "")
    }

    /// Whether a table cell reads as a number ("1,204", "96.2 %", "118 ms", "–"), so its column is
    /// right-aligned.
    static func looksNumeric(_ cell: String) -> Bool {
        let trimmed = cell.trimmingSpaces
        if trimmed.isEmpty || trimmed == "–" || trimmed == "-" || trimmed == "—" { return true }
        var sawDigit = false
        var rest = Substring(trimmed)
        while let first = rest.first, first.isNumber || ",. +-\u{2212}\u{00A0}\u{202F}".contains(first) {
            if first.isNumber { sawDigit = true }
            rest = rest.dropFirst()
        }
        let unit = rest.drop(while: { $0 == " " })
        return sawDigit && ["", "%", "ms", "s", "x", "×"].contains(String(unit))
    }

    /// The smallest "nice" step (1, 2, 2.5 or 5 times a power of ten) at or above `value` / `steps`,
    /// so a count axis gets round ticks.
    static func niceStep(for value: Double, steps: Int) -> Double {
        guard value > 0, steps > 0 else { return 1 }
        let raw = value / Double(steps)
        var power = 1.0
        while power * 10 <= raw { power *= 10 }
        while power > raw { power /= 10 }
        // 2.5 only from 25 up, and never below 1: counts are whole numbers.
        let factors = power >= 10 ? [1.0, 2.0, 2.5, 5.0, 10.0] : [1.0, 2.0, 5.0, 10.0]
        for factor in factors where factor * power >= raw {
            return max(1, factor * power)
        }
        return max(1, 10 * power)
    }
}

extension String {
    /// The string without leading and trailing whitespace (Foundation-free, for the formatters).
    var trimmingSpaces: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
