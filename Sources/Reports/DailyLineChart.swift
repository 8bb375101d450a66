/// Sent and delivered per day (or per bucket) as two lines over a count axis. Sent is a solid dark
/// line over a pale area, delivered a dashed mid-tone line, so they differ in grey as well.
struct DailyLineChart {
    var points: [ReportDocument.Point]
    var style: ChartStyle

    private var sentColor: RGB { Palette.series(0) }
    private var deliveredColor: RGB { Palette.series(1) }

    /// Label steps that read naturally whatever a point is: days (a week, a fortnight) or hours
    /// (6, 12, a day, a week); past the list, whole weeks of hours.
    private static let labelSteps = [1, 2, 3, 4, 6, 7, 12, 14, 24, 28, 48, 72, 84, 168]

    func draw(on canvas: Canvas, in frame: Rect) {
        guard !points.isEmpty else {
            style.drawEmpty(on: canvas, in: frame)
            return
        }
        // Points closer than a few units apart (hourly series, a quarter of days): thinner lines, and
        // no dash, whose gaps would be longer than the segments and read as noise. Delivered then
        // differs from sent by its lighter tone alone, which still holds in grey.
        let approximateSlot = frame.width / Double(points.count)
        let dense = approximateSlot < style.scaled(5)
        let lineWidth = style.scaled(dense ? 1.1 : 1.8)
        let deliveredDash = dense ? [] : [style.scaled(4), style.scaled(2.5)]
        let legendHeight = style.drawLegend(
            [
                ("Sent", .line(sentColor, dash: [], width: style.scaled(2))),
                ("Delivered", .line(deliveredColor, dash: deliveredDash, width: style.scaled(2))),
            ],
            on: canvas, in: frame
        )

        let peak = Double(points.map { max($0.sent, $0.delivered) }.max() ?? 0)
        let step = ReportFormat.niceStep(for: max(peak, 1), steps: 4)
        let tickCount = max(1, Int((max(peak, 1) / step).rounded(.up)))
        let top = step * Double(tickCount)
        let ticks = (0...tickCount).map { Double($0) * step }

        let size = style.axisFont
        let tickLabelWidth = (ticks.map { canvas.width(of: ReportFormat.compact($0), size: size) }.max() ?? 0) + style.scaled(6)
        let labelBand = style.scaled(6) + size * 1.25 + style.scaled(2)
        let plot = Rect(
            x: frame.x + tickLabelWidth, y: frame.y + legendHeight + style.scaled(4),
            width: frame.width - tickLabelWidth - style.scaled(2),
            height: frame.height - legendHeight - style.scaled(4) - labelBand
        )
        guard plot.height > style.scaled(20), plot.width > style.scaled(20) else {
            style.drawEmpty(on: canvas, in: frame)
            return
        }

        for tick in ticks {
            let y = plot.maxY - tick / top * plot.height
            if tick > 0 {
                canvas.line(from: (plot.x, y), to: (plot.maxX, y), Palette.grid, width: style.scaled(0.6))
            }
            canvas.text(
                ReportFormat.compact(tick), x: plot.x - style.scaled(5), y: y + size * Canvas.capHeight / 2,
                size: size, color: Palette.muted, align: .right
            )
        }

        // Each point sits in the middle of its slot, so the first and last labels stay inside the plot.
        let slot = plot.width / Double(points.count)
        func x(_ index: Int) -> Double { plot.x + slot * (Double(index) + 0.5) }
        func y(_ value: Int) -> Double { plot.maxY - Double(max(value, 0)) / top * plot.height }
        let sent = points.enumerated().map { (x: x($0.offset), y: y($0.element.sent)) }
        let delivered = points.enumerated().map { (x: x($0.offset), y: y($0.element.delivered)) }

        canvas.fillArea(sent, baseline: plot.maxY, sentColor, alpha: 0.10)
        canvas.line(from: (plot.x, plot.maxY), to: (plot.maxX, plot.maxY), Palette.axis, width: style.scaled(0.8))
        canvas.polyline(sent, sentColor, width: lineWidth)
        canvas.polyline(delivered, deliveredColor, width: lineWidth, dash: deliveredDash)
        // Markers only while they stay apart; on a 90-day or hourly series they would merge into a band.
        if slot >= style.scaled(9) {
            for point in sent {
                canvas.circle(x: point.x, y: point.y, radius: style.scaled(1.9), fill: sentColor)
            }
            for point in delivered {
                canvas.circle(x: point.x, y: point.y, radius: style.scaled(1.7), fill: Palette.white, stroke: deliveredColor, lineWidth: style.scaled(1.1))
            }
        }

        // Label every n-th point, n the smallest natural step at which the widest label keeps a gap.
        let widest = points.map { canvas.width(of: $0.label, size: size) }.max() ?? 0
        let needed = max(1, Int(((widest + style.scaled(10)) / slot).rounded(.up)))
        let every = Self.labelSteps.first { $0 >= needed } ?? ((needed + 167) / 168 * 168)
        let labelTop = plot.maxY + style.scaled(6)
        for index in stride(from: 0, to: points.count, by: every) {
            canvas.line(from: (x(index), plot.maxY), to: (x(index), plot.maxY + style.scaled(3)), Palette.axis, width: style.scaled(0.8))
            canvas.text(
                points[index].label, x: x(index), y: labelTop + size * Canvas.capHeight,
                size: size, color: Palette.ink, align: .center, maxWidth: slot * Double(every) - style.scaled(4)
            )
        }
    }
}
