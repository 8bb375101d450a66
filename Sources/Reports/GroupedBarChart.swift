import Foundation

/// Rates per category (channel, message type) as groups of vertical bars on a 0–100 % axis, one bar
/// per series, with a legend above and the categories below. The PDF and the SVG both draw it.
struct GroupedBarChart {
    var groups: [ReportDocument.Bar]
    var series: [String]
    var style: ChartStyle

    /// How the category labels fit under the axis.
    private enum LabelLayout {
        case horizontal
        /// Two lines, split after "_", "-", "/" or at a space.
        case wrapped([(String, String)])
        /// Rising at `angle`, each already cut (in the middle) to a length the chart can hold.
        case rotated(angle: Double, labels: [String])
    }

    func draw(on canvas: Canvas, in frame: Rect) {
        let seriesCount = max(series.count, groups.map(\.values.count).max() ?? 0)
        guard !groups.isEmpty, seriesCount > 0 else {
            style.drawEmpty(on: canvas, in: frame)
            return
        }
        let names = (0..<seriesCount).map { $0 < series.count ? series[$0] : "Series \($0 + 1)" }
        let legendHeight = style.drawLegend(
            names.enumerated().map { index, name in (name, ChartStyle.LegendMark.swatch(series: index)) },
            on: canvas, in: frame
        )

        let axisSize = style.axisFont
        let tickLabelWidth = canvas.width(of: "100%", size: axisSize) + style.scaled(6)
        let valueRoom = style.valueFont * 1.6
        var plot = Rect(
            x: frame.x + tickLabelWidth, y: frame.y + legendHeight + valueRoom,
            width: frame.width - tickLabelWidth - style.scaled(2), height: 0
        )

        let (layout, labelBand, leftOverhang) = labelLayout(on: canvas, plotWidth: plot.width, frameHeight: frame.height)
        // Rotated labels hang left of their group; the first ones may need the plot to move right.
        if leftOverhang > 0 {
            plot.x += leftOverhang
            plot.width -= leftOverhang
        }
        plot.height = frame.maxY - labelBand - plot.y
        guard plot.height > style.scaled(20), plot.width > style.scaled(20) else {
            style.drawEmpty(on: canvas, in: frame)
            return
        }

        drawAxis(on: canvas, plot: plot)

        let slot = plot.width / Double(groups.count)
        let maxBar = style.scaled(34)
        let barWidth = min(slot * 0.74 / Double(seriesCount), maxBar)
        let gap = min(style.scaled(1.5), barWidth * 0.15)
        let groupWidth = barWidth * Double(seriesCount)

        // Value labels only when every one fits its bar, so the chart never shows some and not others.
        let valueLabels = groups.map { group in
            (0..<seriesCount).map { index in
                index < group.values.count ? ReportFormat.shortPercent(group.values[index]) : ""
            }
        }
        let widestValue = valueLabels.joined().map { canvas.width(of: $0, size: style.valueFont) }.max() ?? 0
        let showValues = widestValue <= barWidth + gap

        for (groupIndex, group) in groups.enumerated() {
            let center = plot.x + slot * (Double(groupIndex) + 0.5)
            let left = center - groupWidth / 2
            for index in 0..<seriesCount {
                guard index < group.values.count, group.values[index].isFinite else { continue }
                let rate = min(max(group.values[index], 0), 1)
                let height = rate * plot.height
                let x = left + Double(index) * barWidth + gap / 2
                let bar = Rect(x: x, y: plot.maxY - height, width: barWidth - gap, height: height)
                canvas.fillSeries(index, bar, scale: style.scale)
                if rate == 0 {
                    // A zero is a result, not missing data: mark it on the baseline.
                    canvas.line(from: (x, plot.maxY - 0.5), to: (x + barWidth - gap, plot.maxY - 0.5), Palette.series(index), width: 1)
                }
                if showValues {
                    canvas.text(
                        valueLabels[groupIndex][index], x: x + (barWidth - gap) / 2, y: bar.y - style.scaled(2.5),
                        size: style.valueFont, color: Palette.muted, align: .center
                    )
                }
            }
        }
        drawCategoryLabels(layout, on: canvas, plot: plot, slot: slot)
    }

    private func drawAxis(on canvas: Canvas, plot: Rect) {
        for step in 0...4 {
            let fraction = Double(step) / 4
            let y = plot.maxY - fraction * plot.height
            if step > 0 {
                canvas.line(from: (plot.x, y), to: (plot.maxX, y), Palette.grid, width: style.scaled(0.6))
            }
            canvas.text(
                "\(step * 25)%", x: plot.x - style.scaled(5), y: y + style.axisFont * Canvas.capHeight / 2,
                size: style.axisFont, color: Palette.muted, align: .right
            )
        }
        canvas.line(from: (plot.x, plot.maxY), to: (plot.maxX, plot.maxY), Palette.axis, width: style.scaled(0.8))
    }

    /// Picks horizontal, two-line or rotated labels, whichever is the first to fit; returns the
    /// height the labels need under the plot and how far rotated labels reach left of it.
    private func labelLayout(on canvas: Canvas, plotWidth: Double, frameHeight: Double) -> (LabelLayout, Double, Double) {
        let size = style.axisFont
        let slot = plotWidth / Double(groups.count)
        let room = slot - style.scaled(6)
        let lineHeight = size * 1.25
        let top = style.scaled(6)
        let labels = groups.map(\.label)
        if labels.allSatisfy({ canvas.width(of: $0, size: size) <= room }) {
            return (.horizontal, top + lineHeight + style.scaled(2), 0)
        }
        let wrapped = labels.map { Self.split($0, canvas: canvas, size: size) }
        if wrapped.allSatisfy({ canvas.width(of: $0.0, size: size) <= room && canvas.width(of: $0.1, size: size) <= room }) {
            return (.wrapped(wrapped), top + 2 * lineHeight + style.scaled(2), 0)
        }
        let angle = 40.0 * Double.pi / 180
        let maxWidth = min(style.scaled(110), frameHeight * 0.45)
        // Cut in the middle: category names often share a prefix and differ at the end.
        let cut = labels.map { canvas.fitted($0, maxWidth: maxWidth, size: size, cut: .middle) }
        let widths = cut.map { canvas.width(of: $0, size: size) }
        let longest = widths.max() ?? 0
        let band = top + longest * sin(angle) + size * cos(angle) + style.scaled(4)
        // The label of group i starts w·cos(angle) left of its centre, which lies slot·(i + ½) right
        // of the plot's edge; the tick labels to the left of the plot give some room already.
        let overhang = widths.enumerated().map { index, width in
            width * cos(angle) - slot * (Double(index) + 0.5)
        }.max() ?? 0
        let available = canvas.width(of: "100%", size: size) + style.scaled(6)
        return (.rotated(angle: angle, labels: cut), band, max(0, overhang - available))
    }

    private func drawCategoryLabels(_ layout: LabelLayout, on canvas: Canvas, plot: Rect, slot: Double) {
        let size = style.axisFont
        let top = plot.maxY + style.scaled(6)
        let lineHeight = size * 1.25
        for (index, group) in groups.enumerated() {
            let center = plot.x + slot * (Double(index) + 0.5)
            switch layout {
            case .horizontal:
                canvas.text(group.label, x: center, y: top + size * Canvas.capHeight, size: size, color: Palette.ink, align: .center)
            case .wrapped(let lines):
                canvas.text(lines[index].0, x: center, y: top + size * Canvas.capHeight, size: size, color: Palette.ink, align: .center)
                canvas.text(lines[index].1, x: center, y: top + lineHeight + size * Canvas.capHeight, size: size, color: Palette.ink, align: .center)
            case .rotated(let angle, let labels):
                canvas.rotatedText(labels[index], x: center, y: top - style.scaled(2), angle: angle, size: size, color: Palette.ink)
            }
        }
    }

    /// `label` in two lines, split where the longer line is shortest: after "_", "-" or "/" (kept, so
    /// the label reads as written) or at a space (dropped). A label with no such place stays whole.
    static func split(_ label: String, canvas: Canvas, size: Double) -> (String, String) {
        let characters = Array(label)
        var best: (String, String) = (label, "")
        var bestWidth = canvas.width(of: label, size: size)
        for (index, character) in characters.enumerated() where index > 0 && index < characters.count - 1 {
            let pair: (String, String)
            switch character {
            case "_", "-", "/": pair = (String(characters[...index]), String(characters[(index + 1)...]))
            case " ": pair = (String(characters[..<index]), String(characters[(index + 1)...]))
            default: continue
            }
            let width = max(canvas.width(of: pair.0, size: size), canvas.width(of: pair.1, size: size))
            if width < bestWidth {
                best = pair
                bestWidth = width
            }
        }
        return best
    }
}
