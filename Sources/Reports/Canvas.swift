internal import CCairo

/// A cairo context with the few operations the pages and charts need. One is made per render and
/// never shared, which is what makes the renderers safe to call from several threads at once.
///
/// Text goes through cairo's "toy" API with DejaVu Sans: cairo embeds the subset of glyphs used in
/// the PDF and turns them into paths in SVG, so the output does not depend on the reader's fonts.
struct Canvas {
    enum Weight {
        case regular
        case bold
    }

    enum Align {
        case left
        case center
        case right
    }

    /// The font every text is set in; fonts-dejavu-core provides it on the server.
    static let fontFamily = "DejaVu Sans"
    /// DejaVu Sans's cap height as a fraction of the font size, to centre text vertically without
    /// asking cairo for extents of each string.
    static let capHeight = 0.73

    let context: OpaquePointer

    init(_ context: OpaquePointer) {
        self.context = context
    }

    // MARK: Colour and shapes

    func setColor(_ color: RGB, alpha: Double = 1) {
        if alpha >= 1 {
            cairo_set_source_rgb(context, color.red, color.green, color.blue)
        } else {
            cairo_set_source_rgba(context, color.red, color.green, color.blue, alpha)
        }
    }

    func fill(_ rect: Rect, _ color: RGB, alpha: Double = 1) {
        guard rect.width > 0, rect.height > 0 else { return }
        setColor(color, alpha: alpha)
        cairo_rectangle(context, rect.x, rect.y, rect.width, rect.height)
        cairo_fill(context)
    }

    func fillRounded(_ rect: Rect, radius: Double, _ color: RGB) {
        roundedPath(rect, radius: radius)
        setColor(color)
        cairo_fill(context)
    }

    func strokeRounded(_ rect: Rect, radius: Double, _ color: RGB, width: Double) {
        roundedPath(rect, radius: radius)
        setColor(color)
        cairo_set_line_width(context, width)
        cairo_stroke(context)
    }

    private func roundedPath(_ rect: Rect, radius: Double) {
        let r = min(radius, rect.width / 2, rect.height / 2)
        cairo_new_sub_path(context)
        cairo_arc(context, rect.maxX - r, rect.y + r, r, -Double.pi / 2, 0)
        cairo_arc(context, rect.maxX - r, rect.maxY - r, r, 0, Double.pi / 2)
        cairo_arc(context, rect.x + r, rect.maxY - r, r, Double.pi / 2, Double.pi)
        cairo_arc(context, rect.x + r, rect.y + r, r, Double.pi, 3 * Double.pi / 2)
        cairo_close_path(context)
    }

    func line(from start: (x: Double, y: Double), to end: (x: Double, y: Double), _ color: RGB, width: Double, dash: [Double] = []) {
        setColor(color)
        cairo_set_line_width(context, width)
        setDash(dash)
        cairo_move_to(context, start.x, start.y)
        cairo_line_to(context, end.x, end.y)
        cairo_stroke(context)
        setDash([])
    }

    /// A polyline through `points`, e.g. a data series.
    func polyline(_ points: [(x: Double, y: Double)], _ color: RGB, width: Double, dash: [Double] = []) {
        guard let first = points.first else { return }
        setColor(color)
        cairo_set_line_width(context, width)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
        cairo_set_line_cap(context, CAIRO_LINE_CAP_ROUND)
        setDash(dash)
        cairo_move_to(context, first.x, first.y)
        for point in points.dropFirst() { cairo_line_to(context, point.x, point.y) }
        cairo_stroke(context)
        setDash([])
        cairo_set_line_cap(context, CAIRO_LINE_CAP_BUTT)
    }

    /// The area between `points` and the horizontal line at `baseline`.
    func fillArea(_ points: [(x: Double, y: Double)], baseline: Double, _ color: RGB, alpha: Double) {
        guard let first = points.first, let last = points.last else { return }
        cairo_move_to(context, first.x, baseline)
        for point in points { cairo_line_to(context, point.x, point.y) }
        cairo_line_to(context, last.x, baseline)
        cairo_close_path(context)
        setColor(color, alpha: alpha)
        cairo_fill(context)
    }

    func circle(x: Double, y: Double, radius: Double, fill: RGB, stroke: RGB? = nil, lineWidth: Double = 1) {
        cairo_new_sub_path(context)
        cairo_arc(context, x, y, radius, 0, 2 * Double.pi)
        setColor(fill)
        if let stroke {
            cairo_fill_preserve(context)
            setColor(stroke)
            cairo_set_line_width(context, lineWidth)
            cairo_stroke(context)
        } else {
            cairo_fill(context)
        }
    }

    private func setDash(_ dash: [Double]) {
        dash.withUnsafeBufferPointer { buffer in
            cairo_set_dash(context, buffer.baseAddress, Int32(buffer.count), 0)
        }
    }

    /// Fills `rect` as series `index` is drawn everywhere (bars and legend swatches): its colour,
    /// plus a pattern for some series so they differ by more than hue.
    func fillSeries(_ index: Int, _ rect: Rect, scale: Double = 1) {
        guard rect.width > 0, rect.height > 0 else { return }
        let color = Palette.series(index)
        fill(rect, color)
        let pattern = index % 3 == 1 ? 1 : (index >= 3 && index % 3 == 0 ? 2 : 0)
        guard pattern != 0 else { return }
        cairo_save(context)
        cairo_rectangle(context, rect.x, rect.y, rect.width, rect.height)
        cairo_clip(context)
        setColor(Palette.white, alpha: 0.55)
        cairo_set_line_width(context, 0.9 * scale)
        let spacing = 3.6 * scale
        if pattern == 1 {
            // Diagonal hatching, anchored to the rectangle so adjacent bars line up.
            var offset = -rect.height
            while offset < rect.width {
                cairo_move_to(context, rect.x + offset, rect.maxY)
                cairo_line_to(context, rect.x + offset + rect.height, rect.y)
                offset += spacing
            }
        } else {
            var y = rect.maxY - spacing / 2
            while y > rect.y {
                cairo_move_to(context, rect.x, y)
                cairo_line_to(context, rect.maxX, y)
                y -= spacing
            }
        }
        cairo_stroke(context)
        cairo_restore(context)
    }

    // MARK: Text

    func setFont(size: Double, weight: Weight) {
        cairo_select_font_face(
            context, Self.fontFamily, CAIRO_FONT_SLANT_NORMAL,
            weight == .bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL
        )
        cairo_set_font_size(context, size)
    }

    /// The advance width of `text` in the given font.
    func width(of text: String, size: Double, weight: Weight = .regular) -> Double {
        setFont(size: size, weight: weight)
        return advance(of: text)
    }

    private func advance(of text: String) -> Double {
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        return extents.x_advance
    }

    /// Where `fitted` cuts a text that is too long.
    enum Cut {
        /// Keep the start: "invalid_recipient_addr…".
        case end
        /// Keep both ends, for labels that share a long prefix: "appointment_re…invoices_2".
        case middle
    }

    /// `text` cut to fit `maxWidth`, with "…" where it was cut.
    func fitted(_ text: String, maxWidth: Double, size: Double, weight: Weight = .regular, cut: Cut = .end) -> String {
        setFont(size: size, weight: weight)
        if advance(of: text) <= maxWidth { return text }
        let characters = Array(text)
        func shortened(keeping count: Int) -> String {
            switch cut {
            case .end:
                return String(characters[0..<count]).trimmingSpaces + "…"
            case .middle:
                let head = (count + 1) / 2
                return String(characters[0..<head]).trimmingSpaces + "…"
                    + String(characters[(characters.count - (count - head))...]).trimmingSpaces
            }
        }
        // Binary search for the most characters that fit with the ellipsis.
        var low = 0
        var high = characters.count
        while low < high {
            let mid = (low + high + 1) / 2
            if advance(of: shortened(keeping: mid)) <= maxWidth {
                low = mid
            } else {
                high = mid - 1
            }
        }
        return low == 0 ? "" : shortened(keeping: low)
    }

    /// The font size, at most `size` and at least `minimum`, at which `text` fits `maxWidth`: for
    /// figures, which must shrink rather than lose digits.
    func fittingSize(_ text: String, maxWidth: Double, size: Double, minimum: Double, weight: Weight = .regular) -> Double {
        let natural = width(of: text, size: size, weight: weight)
        guard natural > maxWidth, natural > 0 else { return size }
        // Advance widths scale linearly with the size; round down to a quarter point to stay inside.
        return max(minimum, (size * maxWidth / natural * 4).rounded(.down) / 4)
    }

    /// Draws `text` with its baseline at `y`, aligned on `x`, cut with "…" past `maxWidth`.
    func text(
        _ text: String, x: Double, y: Double, size: Double, weight: Weight = .regular,
        color: RGB = Palette.ink, align: Align = .left, maxWidth: Double? = nil
    ) {
        let shown = maxWidth.map { fitted(text, maxWidth: $0, size: size, weight: weight) } ?? text
        guard !shown.isEmpty else { return }
        setFont(size: size, weight: weight)
        let width = align == .left ? 0 : advance(of: shown)
        let originX = switch align {
        case .left: x
        case .center: x - width / 2
        case .right: x - width
        }
        setColor(color)
        cairo_move_to(context, originX, y)
        cairo_show_text(context, shown)
        cairo_new_path(context)
    }

    /// Draws `text` ending at (`x`, `y`) and rising to the right at `angle` radians: a category
    /// label under an axis whose labels are too long to sit side by side.
    func rotatedText(_ text: String, x: Double, y: Double, angle: Double, size: Double, color: RGB) {
        cairo_save(context)
        cairo_translate(context, x, y)
        cairo_rotate(context, -angle)
        self.text(text, x: 0, y: size * Self.capHeight, size: size, color: color, align: .right)
        cairo_restore(context)
    }

    // MARK: Pages

    func showPage() {
        cairo_show_page(context)
    }
}
