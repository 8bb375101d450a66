/// Column widths and sizes for one table on the PDF: each column as wide as its widest cell, the
/// font shrunk (to a floor) when they do not fit the page, then the widest columns narrowed and
/// their cells cut with "…"; spare width goes to the text columns so numbers stay tight.
struct TableLayout {
    let header: [String]
    let rows: [[String]]
    let widths: [Double]
    /// Per column: right-aligned because every cell reads as a number.
    let numeric: [Bool]
    let fontSize: Double
    let padding: Double

    var rowHeight: Double { (fontSize * 1.95).rounded() }
    var headerHeight: Double { (fontSize * 2.3).rounded() }

    /// The baseline that centres a line of text vertically in a row of `height`.
    func baseline(in height: Double) -> Double {
        (height + fontSize * Canvas.capHeight) / 2
    }

    private static let baseFont = 8.0
    private static let minimumFont = 6.5

    init(_ table: ReportDocument.Table, width: Double, canvas: Canvas) {
        let columnCount = max(table.columns.count, 1)
        header = (0..<columnCount).map { $0 < table.columns.count ? table.columns[$0] : "" }
        rows = table.rows.map { row in (0..<columnCount).map { $0 < row.count ? row[$0] : "" } }
        let rows = rows
        numeric = (0..<columnCount).map { column in
            let cells = rows.map { $0[column] }
            return cells.contains { $0.contains(where: \.isNumber) } && cells.allSatisfy(ReportFormat.looksNumeric)
        }
        padding = 5

        let header = header
        func natural(at size: Double) -> [Double] {
            (0..<columnCount).map { column in
                let headerWidth = canvas.width(of: header[column], size: size, weight: .bold)
                let cellWidth = rows.map { canvas.width(of: $0[column], size: size) }.max() ?? 0
                return max(headerWidth, cellWidth) + 10
            }
        }
        var size = Self.baseFont
        var wanted = natural(at: size)
        let total = wanted.reduce(0, +)
        if total > width {
            // Text width scales with the font size; the padding does not.
            let padding = 10 * Double(columnCount)
            size = max(Self.minimumFont, Self.baseFont * (width - padding) / max(total - padding, 1))
            size = (size * 4).rounded(.down) / 4
            wanted = natural(at: size)
        }
        fontSize = size
        // Number columns at least a few digits wide when there is room, so p50/p95/p99 and the
        // like line up as a block instead of crowding against each other at the right.
        let floor = size * 6
        let widened = zip(wanted, numeric).map { $1 ? max($0, floor) : $0 }
        widths = Self.fit(widened.reduce(0, +) <= width ? widened : wanted, into: width, numeric: numeric)
    }

    /// `wanted` widths made to add up to `total`.
    static func fit(_ wanted: [Double], into total: Double, numeric: [Bool]) -> [Double] {
        let sum = wanted.reduce(0, +)
        guard sum > 0 else { return wanted.map { _ in total / Double(max(wanted.count, 1)) } }
        if sum <= total {
            let receivers = numeric.contains(false) ? numeric.map { !$0 } : numeric.map { _ in true }
            let receiving = zip(wanted, receivers).filter(\.1).map(\.0).reduce(0, +)
            return zip(wanted, receivers).map { width, receives in
                receives ? width + (total - sum) * width / max(receiving, 1) : width
            }
        }
        // Too wide: columns narrower than an equal share keep their width, the rest share what is left.
        var widths = wanted
        var open = Set(wanted.indices)
        var remaining = total
        while !open.isEmpty {
            let share = remaining / Double(open.count)
            let narrow = open.filter { wanted[$0] <= share }
            if narrow.isEmpty {
                for index in open { widths[index] = share }
                break
            }
            for index in narrow {
                widths[index] = wanted[index]
                remaining -= wanted[index]
                open.remove(index)
            }
        }
        return widths
    }
}
