/// Sizes shared by the charts, and the parts they have in common (legend, "no data"). The PDF
/// draws at scale 1 in points; the SVG draws larger because a browser shows a user unit as a CSS
/// pixel, smaller than a printed point, and the chart is often shown narrower than drawn.
struct ChartStyle: Sendable {
    var scale: Double

    static let pdf = ChartStyle(scale: 1)
    static let svg = ChartStyle(scale: 1.5)

    var axisFont: Double { 7.5 * scale }
    var legendFont: Double { 8 * scale }
    var valueFont: Double { 6.5 * scale }

    func scaled(_ value: Double) -> Double { value * scale }

    enum LegendMark {
        /// A filled square, as the series' bars are filled.
        case swatch(series: Int)
        /// A short line, solid or dashed, as a series is drawn in a line chart.
        case line(RGB, dash: [Double], width: Double)
    }

    /// Draws the legend entries left to right from the frame's top left, wrapping when the frame is
    /// too narrow; returns the height used including the space under it.
    func drawLegend(_ entries: [(String, LegendMark)], on canvas: Canvas, in frame: Rect) -> Double {
        let size = legendFont
        let mark = scaled(10)
        let rowHeight = scaled(14)
        var x = frame.x
        var y = frame.y
        for (name, legendMark) in entries {
            let label = canvas.fitted(name, maxWidth: frame.width - mark - scaled(5), size: size)
            let width = mark + scaled(5) + canvas.width(of: label, size: size) + scaled(16)
            if x > frame.x, x + width > frame.maxX {
                x = frame.x
                y += rowHeight
            }
            let markTop = y + (rowHeight - mark) / 2 - scaled(1)
            switch legendMark {
            case .swatch(let series):
                canvas.fillSeries(series, Rect(x: x, y: markTop, width: mark, height: mark), scale: scale)
            case .line(let color, let dash, let width):
                canvas.line(
                    from: (x - scaled(1), markTop + mark / 2), to: (x + mark + scaled(1), markTop + mark / 2),
                    color, width: width, dash: dash
                )
            }
            canvas.text(
                label, x: x + mark + scaled(5), y: markTop + mark / 2 + size * Canvas.capHeight / 2,
                size: size, color: Palette.ink
            )
            x += width
        }
        return y - frame.y + rowHeight + scaled(4)
    }

    /// What a chart shows when there is nothing to plot, so an empty period still reads as deliberate.
    func drawEmpty(on canvas: Canvas, in frame: Rect) {
        canvas.strokeRounded(frame.inset(by: scaled(1)), radius: scaled(4), Palette.grid, width: scaled(1))
        canvas.text(
            "No data for this period", x: frame.midX, y: frame.midY + legendFont * Canvas.capHeight / 2,
            size: legendFont, color: Palette.faint, align: .center
        )
    }
}
