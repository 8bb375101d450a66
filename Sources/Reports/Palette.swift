/// An sRGB colour, components 0...1.
struct RGB: Sendable, Equatable {
    var red: Double
    var green: Double
    var blue: Double

    init(hex: UInt32) {
        red = Double((hex >> 16) & 0xFF) / 255
        green = Double((hex >> 8) & 0xFF) / 255
        blue = Double(hex & 0xFF) / 255
    }
}

/// The report's colours. The series colours are far apart in lightness (dark blue, mid teal, light
/// amber) so they stay distinguishable when printed in grey or seen with a colour-vision deficiency;
/// the second series is also hatched (see `Canvas.fillSeries`) so no bar depends on colour alone.
enum Palette {
    static let ink = RGB(hex: 0x1F2933)
    static let muted = RGB(hex: 0x52606D)
    static let faint = RGB(hex: 0x7B8794)
    static let axis = RGB(hex: 0x9AA5B1)
    static let grid = RGB(hex: 0xE4E7EB)
    static let rule = RGB(hex: 0xCBD2D9)
    static let panel = RGB(hex: 0xF5F7FA)
    static let zebra = RGB(hex: 0xF3F5F8)
    static let tableHeader = RGB(hex: 0xE3E8EF)
    static let accent = RGB(hex: 0x1B4F72)
    static let white = RGB(hex: 0xFFFFFF)
    static let met = RGB(hex: 0x2E7D32)
    static let missed = RGB(hex: 0xB3261E)

    /// Bars and lines, in series order; beyond the last the colours repeat with other patterns.
    static let series: [RGB] = [
        RGB(hex: 0x1B4F72),  // deep blue, darkest
        RGB(hex: 0x3A9C8C),  // teal, middle (hatched)
        RGB(hex: 0xE6B949),  // amber, lightest
        RGB(hex: 0x8E5A9B),  // plum
        RGB(hex: 0x9CC3E6),  // pale blue
        RGB(hex: 0x6B7B3A),  // olive
    ]

    static func series(_ index: Int) -> RGB {
        series[((index % series.count) + series.count) % series.count]
    }
}
