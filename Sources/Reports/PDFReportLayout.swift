internal import CCairo

/// Lays the report out on A4 portrait pages, top to bottom: the title block, headline rates, counts,
/// the three charts, then the tables. A block that does not fit the rest of a page starts the next
/// one; a table that does not fit continues on the next page under its repeated header row.
struct PDFReportLayout {
    static let pageWidth = 595.28
    static let pageHeight = 841.89
    private static let margin = 46.0
    private static let top = 46.0
    /// The lowest point content may reach; the footer sits below it.
    private static let bottom = pageHeight - 52
    private static let sectionGap = 16.0
    private static let headingHeight = 20.0

    private let document: ReportDocument
    private let canvas: Canvas
    private let surface: OpaquePointer
    /// Nil on the dry run that counts the pages, so the footer shows "Page n" only.
    private let totalPages: Int?
    private var page = 1
    private var y = top

    private var contentWidth: Double { Self.pageWidth - 2 * Self.margin }
    private var left: Double { Self.margin }
    private var right: Double { Self.pageWidth - Self.margin }

    init(document: ReportDocument, canvas: Canvas, surface: OpaquePointer, totalPages: Int?) {
        self.document = document
        self.canvas = canvas
        self.surface = surface
        self.totalPages = totalPages
    }

    /// Draws the whole report; returns the number of pages.
    mutating func draw() -> Int {
        titleBlock()
        if !document.headlines.isEmpty { headlines() }
        if !document.counts.isEmpty { counts() }
        chart(.byChannel, height: 168)
        chart(.byMessageType, height: 190)
        chart(.daily, height: 190)
        for table in document.tables { self.table(table) }
        footer()
        canvas.showPage()
        return page
    }

    // MARK: Page flow

    private mutating func ensureSpace(_ height: Double) {
        if y + height > Self.bottom, y > Self.top + 40 { newPage() }
    }

    private mutating func newPage() {
        footer()
        canvas.showPage()
        page += 1
        // A slim running header so a loose page still says what it belongs to.
        let baseline = Self.top - 14
        canvas.text(document.title, x: left, y: baseline, size: 7.5, weight: .bold, color: Palette.muted, maxWidth: contentWidth * 0.48)
        canvas.text(document.period, x: right, y: baseline, size: 7.5, color: Palette.muted, align: .right, maxWidth: contentWidth * 0.48)
        canvas.line(from: (left, baseline + 5), to: (right, baseline + 5), Palette.rule, width: 0.5)
        y = Self.top + 4
    }

    private func footer() {
        let baseline = Self.pageHeight - 26
        canvas.line(from: (left, baseline - 12), to: (right, baseline - 12), Palette.rule, width: 0.5)
        canvas.text(
            "Generated \(document.generatedAt)", x: left, y: baseline, size: 7.5, color: Palette.faint,
            maxWidth: contentWidth - 90
        )
        let number = totalPages.map { "Page \(page) of \($0)" } ?? "Page \(page)"
        canvas.text(number, x: right, y: baseline, size: 7.5, color: Palette.faint, align: .right)
    }

    /// A section title, kept on the same page as the first `keepWith` points of its content.
    private mutating func heading(_ title: String, keepWith height: Double, size: Double = 12) {
        ensureSpace(Self.headingHeight + height)
        canvas.text(title, x: left, y: y + size, size: size, weight: .bold, color: Palette.ink, maxWidth: contentWidth)
        if totalPages != nil {
            // A bookmark per section; cairo takes the destination in the page's own coordinates.
            cairo_pdf_surface_add_outline(
                surface, CAIRO_PDF_OUTLINE_ROOT, title, "page=\(page) pos=[\(Int(left)) \(Int(y))]",
                cairo_pdf_outline_flags_t(rawValue: 0)
            )
        }
        y += Self.headingHeight
    }

    // MARK: Sections

    private mutating func titleBlock() {
        canvas.fill(Rect(x: left, y: y, width: 36, height: 3), Palette.accent)
        y += 26
        canvas.text(document.title.isEmpty ? "Report" : document.title, x: left, y: y, size: 20, weight: .bold, color: Palette.ink, maxWidth: contentWidth)
        y += 19
        canvas.text(document.period, x: left, y: y, size: 10.5, color: Palette.muted, maxWidth: contentWidth)
        y += 14
        canvas.text("Generated \(document.generatedAt)", x: left, y: y, size: 8, color: Palette.faint, maxWidth: contentWidth)
        y += 12
        canvas.line(from: (left, y), to: (right, y), Palette.rule, width: 0.7)
        y += Self.sectionGap
    }

    private mutating func headlines() {
        let columns = min(3, document.headlines.count)
        let gap = 10.0
        let cardWidth = (contentWidth - gap * Double(columns - 1)) / Double(columns)
        let cardHeight = 64.0
        heading("Headline rates", keepWith: cardHeight)
        for (index, headline) in document.headlines.enumerated() {
            let column = index % columns
            if column == 0, index > 0 {
                y += cardHeight + gap
                ensureSpace(cardHeight)
            }
            headlineCard(headline, in: Rect(x: left + Double(column) * (cardWidth + gap), y: y, width: cardWidth, height: cardHeight))
        }
        y += cardHeight + Self.sectionGap
    }

    private func headlineCard(_ headline: ReportDocument.Headline, in card: Rect) {
        canvas.fillRounded(card, radius: 5, Palette.panel)
        let inner = card.inset(by: 10)

        // The mark says met or missed in a symbol and a word, not only in colour.
        var labelRoom = inner.width
        if let met = headline.met {
            let badge = met ? "✓ Met" : "✗ Missed"
            let badgeSize = 7.5
            let badgeWidth = canvas.width(of: badge, size: badgeSize, weight: .bold) + 10
            let pill = Rect(x: inner.maxX - badgeWidth, y: card.y + 7, width: badgeWidth, height: 13)
            canvas.fillRounded(pill, radius: 6.5, met ? Palette.met : Palette.missed)
            canvas.text(
                badge, x: pill.midX, y: pill.midY + badgeSize * Canvas.capHeight / 2, size: badgeSize, weight: .bold,
                color: Palette.white, align: .center
            )
            labelRoom -= badgeWidth + 6
        }
        canvas.text(headline.label, x: inner.x, y: card.y + 17, size: 8.5, color: Palette.muted, maxWidth: labelRoom)

        let valueBaseline = card.y + 41
        let targetText = headline.target.map { "Target \(ReportFormat.percent($0))" } ?? "No target"
        let targetWidth = canvas.width(of: targetText, size: 8)
        canvas.text(targetText, x: inner.maxX, y: valueBaseline, size: 8, color: Palette.muted, align: .right)
        let figure = ReportFormat.percent(headline.value)
        let room = inner.width - targetWidth - 6
        let size = canvas.fittingSize(figure, maxWidth: room, size: 18, minimum: 9, weight: .bold)
        canvas.text(figure, x: inner.x, y: valueBaseline, size: size, weight: .bold, color: Palette.ink, maxWidth: room)

        // A meter with the target as a tick: how far above or below it, at a glance.
        let track = Rect(x: inner.x, y: card.maxY - 13, width: inner.width, height: 4)
        canvas.fillRounded(track, radius: 2, Palette.grid)
        let value = headline.value.isFinite ? min(max(headline.value, 0), 1) : 0
        let fillColor = headline.met.map { $0 ? Palette.met : Palette.missed } ?? Palette.accent
        if value > 0 {
            canvas.fillRounded(Rect(x: track.x, y: track.y, width: max(track.width * value, 4), height: track.height), radius: 2, fillColor)
        }
        if let target = headline.target, target.isFinite {
            let x = track.x + track.width * min(max(target, 0), 1)
            canvas.line(from: (x, track.y - 3), to: (x, track.maxY + 3), Palette.ink, width: 1.4)
        }
    }

    private mutating func counts() {
        let columns = min(4, document.counts.count)
        let gap = 8.0
        let tileWidth = (contentWidth - gap * Double(columns - 1)) / Double(columns)
        let tileHeight = 42.0
        heading("Volumes", keepWith: tileHeight)
        for (index, count) in document.counts.enumerated() {
            let column = index % columns
            if column == 0, index > 0 {
                y += tileHeight + gap
                ensureSpace(tileHeight)
            }
            let tile = Rect(x: left + Double(column) * (tileWidth + gap), y: y, width: tileWidth, height: tileHeight)
            canvas.fill(Rect(x: tile.x, y: tile.y, width: 2.5, height: tile.height), Palette.rule)
            canvas.text(count.label, x: tile.x + 10, y: tile.y + 14, size: 8, color: Palette.muted, maxWidth: tile.width - 14)
            let figure = ReportFormat.grouped(count.value)
            let size = canvas.fittingSize(figure, maxWidth: tile.width - 14, size: 15, minimum: 8, weight: .bold)
            canvas.text(figure, x: tile.x + 10, y: tile.y + 34, size: size, weight: .bold, color: Palette.ink, maxWidth: tile.width - 14)
        }
        y += tileHeight + Self.sectionGap
    }

    private mutating func chart(_ chart: ReportRenderer.Chart, height: Double) {
        heading(chart.title, keepWith: height)
        let frame = Rect(x: left, y: y, width: contentWidth, height: height)
        ReportRenderer.draw(chart, of: document, on: canvas, in: frame, style: .pdf)
        y += height + Self.sectionGap
    }

    // MARK: Tables

    private mutating func table(_ table: ReportDocument.Table) {
        let layout = TableLayout(table, width: contentWidth, canvas: canvas)
        let rows = layout.rows
        heading(table.title, keepWith: layout.headerHeight + layout.rowHeight * Double(min(rows.count, 3)), size: 11)
        tableHeader(layout)
        if rows.isEmpty {
            canvas.text("No rows", x: left + layout.padding, y: y + layout.baseline(in: layout.rowHeight), size: layout.fontSize, color: Palette.faint)
            y += layout.rowHeight
        }
        for (index, row) in rows.enumerated() {
            if y + layout.rowHeight > Self.bottom {
                canvas.line(from: (left, y), to: (right, y), Palette.rule, width: 0.6)
                newPage()
                canvas.text("\(table.title) (continued)", x: left, y: y + 10, size: 9, weight: .bold, color: Palette.muted, maxWidth: contentWidth)
                y += 16
                tableHeader(layout)
            }
            if index % 2 == 1 {
                canvas.fill(Rect(x: left, y: y, width: contentWidth, height: layout.rowHeight), Palette.zebra)
            }
            drawCells(row, layout: layout, height: layout.rowHeight, weight: .regular, color: Palette.ink)
            y += layout.rowHeight
        }
        canvas.line(from: (left, y), to: (right, y), Palette.rule, width: 0.6)
        y += Self.sectionGap
    }

    private mutating func tableHeader(_ layout: TableLayout) {
        canvas.fill(Rect(x: left, y: y, width: contentWidth, height: layout.headerHeight), Palette.tableHeader)
        drawCells(layout.header, layout: layout, height: layout.headerHeight, weight: .bold, color: Palette.ink)
        y += layout.headerHeight
    }

    private func drawCells(_ cells: [String], layout: TableLayout, height: Double, weight: Canvas.Weight, color: RGB) {
        var x = left
        let baseline = y + layout.baseline(in: height)
        for (column, width) in layout.widths.enumerated() {
            let cell = column < cells.count ? cells[column] : ""
            let room = width - 2 * layout.padding
            if layout.numeric[column] {
                canvas.text(cell, x: x + width - layout.padding, y: baseline, size: layout.fontSize, weight: weight, color: color, align: .right, maxWidth: room)
            } else {
                canvas.text(cell, x: x + layout.padding, y: baseline, size: layout.fontSize, weight: weight, color: color, maxWidth: room)
            }
            x += width
        }
    }
}
