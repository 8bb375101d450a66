/// The dashboard: one self-contained HTML5 page (inline CSS, the charts as inline SVG drawn by
/// `ReportRenderer.svg`, no script, nothing fetched), so it can be served from the side port as is
/// and saved or mailed without breaking.
public enum DashboardPage {
    /// The page for `document`, with a link per entry of `periods` (`?days=7`, …) and the one equal
    /// to `selectedDays` marked as current. Every text taken from the document is HTML-escaped.
    public static func html(_ document: ReportDocument, periods: [Int], selectedDays: Int) -> String {
        let title = document.title.isEmpty ? "Report" : document.title
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light">
            <title>\(title.htmlEscaped)</title>
            <style>\(stylesheet)</style>
            </head>
            <body>
            <header class="top">
            <div class="wrap top-inner">
            <div class="heading">
            <h1>\(title.htmlEscaped)</h1>
            <p class="period">\(document.period.htmlEscaped)</p>
            </div>

            """
        page += periodSelector(periods, selected: selectedDays)
        page += "</div>\n</header>\n<main class=\"wrap\">\n"
        if !document.headlines.isEmpty { page += headlines(document.headlines) }
        if !document.counts.isEmpty { page += counts(document.counts) }
        page += charts(document)
        if !document.tables.isEmpty { page += tables(document.tables) }
        page += """
            </main>
            <footer class="wrap foot">Generated \(document.generatedAt.htmlEscaped)</footer>
            </body>
            </html>

            """
        return page
    }

    // MARK: Sections

    private static func periodSelector(_ periods: [Int], selected: Int) -> String {
        guard !periods.isEmpty else { return "" }
        var html = "<nav class=\"periods\" aria-label=\"Period\">\n"
        for days in periods {
            let label = days == 1 ? "1 day" : "\(days) days"
            if days == selected {
                html += "<a href=\"?days=\(days)\" class=\"selected\" aria-current=\"page\">\(label)</a>\n"
            } else {
                html += "<a href=\"?days=\(days)\">\(label)</a>\n"
            }
        }
        return html + "</nav>\n"
    }

    private static func headlines(_ headlines: [ReportDocument.Headline]) -> String {
        var html = "<section aria-labelledby=\"s-headlines\">\n<h2 id=\"s-headlines\">Headline rates</h2>\n<div class=\"cards\">\n"
        for headline in headlines {
            // The mark carries a symbol and a word, so met/missed does not rest on colour alone.
            let (status, badge) = switch headline.met {
            case true?: ("met", "<span class=\"badge met\">✓ Met</span>")
            case false?: ("missed", "<span class=\"badge missed\">✗ Missed</span>")
            case nil: ("neutral", "")
            }
            let target = headline.target.map { "Target \(ReportFormat.percent($0))" } ?? "No target"
            let tick = headline.target.flatMap { $0.isFinite ? "<span class=\"tick\" style=\"left:\(cssPercent($0))\"></span>" : nil } ?? ""
            html += """
                <article class="card">
                <div class="card-head"><h3>\(headline.label.htmlEscaped)</h3>\(badge)</div>
                <p class="value">\(ReportFormat.percent(headline.value))</p>
                <p class="target">\(target)</p>
                <div class="meter" aria-hidden="true"><span class="fill \(status)" style="width:\(cssPercent(headline.value))"></span>\(tick)</div>
                </article>

                """
        }
        return html + "</div>\n</section>\n"
    }

    private static func counts(_ counts: [ReportDocument.Count]) -> String {
        var html = "<section aria-labelledby=\"s-volumes\">\n<h2 id=\"s-volumes\">Volumes</h2>\n<dl class=\"counts\">\n"
        for count in counts {
            html += "<div><dt>\(count.label.htmlEscaped)</dt><dd>\(ReportFormat.grouped(count.value))</dd></div>\n"
        }
        return html + "</dl>\n</section>\n"
    }

    private static func charts(_ document: ReportDocument) -> String {
        // Each chart is drawn twice: at about its desktop size, so its text reads at ~11 px, and
        // narrow for phones, where the wide drawing scaled down would leave the text unreadable.
        // CSS shows one; the hidden one is out of the accessibility tree too.
        let figures: [(chart: ReportRenderer.Chart, wide: (Double, Double), narrow: (Double, Double), classes: String)] = [
            (.byChannel, (540, 320), (400, 300), "chart"),
            (.byMessageType, (540, 320), (400, 340), "chart"),
            (.daily, (1080, 340), (400, 280), "chart full"),
        ]
        var html = "<section aria-labelledby=\"s-charts\">\n<h2 id=\"s-charts\">Charts</h2>\n<div class=\"charts\">\n"
        for figure in figures {
            html += "<figure class=\"panel \(figure.classes)\">\n<figcaption>\(figure.chart.title.htmlEscaped)</figcaption>\n"
            html += "<div class=\"for-wide\">"
            html += ReportRenderer.svg(chart: figure.chart, of: document, width: figure.wide.0, height: figure.wide.1)
            html += "</div>\n<div class=\"for-narrow\">"
            html += ReportRenderer.svg(chart: figure.chart, of: document, width: figure.narrow.0, height: figure.narrow.1)
            html += "</div>\n</figure>\n"
        }
        return html + "</div>\n</section>\n"
    }

    private static func tables(_ tables: [ReportDocument.Table]) -> String {
        var html = "<section aria-labelledby=\"s-details\">\n<h2 id=\"s-details\">Details</h2>\n"
        for table in tables {
            let columnCount = max(table.columns.count, 1)
            let rows = table.rows.map { row in (0..<columnCount).map { $0 < row.count ? row[$0] : "" } }
            let numeric = (0..<columnCount).map { column in
                let cells = rows.map { $0[column] }
                return cells.contains { $0.contains(where: \.isNumber) } && cells.allSatisfy(ReportFormat.looksNumeric)
            }
            func cellClass(_ column: Int) -> String { numeric[column] ? " class=\"num\"" : "" }

            html += "<div class=\"panel table-panel\">\n<div class=\"scroll\">\n<table>\n"
            html += "<caption>\(table.title.htmlEscaped)</caption>\n<thead><tr>"
            for column in 0..<columnCount {
                let name = column < table.columns.count ? table.columns[column] : ""
                html += "<th scope=\"col\"\(cellClass(column))>\(name.htmlEscaped)</th>"
            }
            html += "</tr></thead>\n<tbody>\n"
            if rows.isEmpty {
                html += "<tr><td colspan=\"\(columnCount)\" class=\"empty\">No rows</td></tr>\n"
            }
            for row in rows {
                html += "<tr>"
                for (column, cell) in row.enumerated() {
                    // A first column without a header names the row, as in the breakdown tables.
                    if column == 0, table.columns.first?.trimmingSpaces.isEmpty ?? false {
                        html += "<th scope=\"row\">\(cell.htmlEscaped)</th>"
                    } else {
                        html += "<td\(cellClass(column))>\(cell.htmlEscaped)</td>"
                    }
                }
                html += "</tr>\n"
            }
            html += "</tbody>\n</table>\n</div>\n</div>\n"
        }
        return html + "</section>\n"
    }

    /// A rate as a CSS length, clamped to the meter: "96.2%".
    private static func cssPercent(_ rate: Double) -> String {
        ReportFormat.percent(rate.isFinite ? min(max(rate, 0), 1) : 0)
    }

    // MARK: Style

    private static let stylesheet = """
        :root{--ink:#1f2933;--muted:#52606d;--faint:#7b8794;--line:#e4e7eb;--bg:#f5f7fa;--panel:#fff;\
        --accent:#1b4f72;--met:#2e7d32;--missed:#b3261e;--zebra:#f7f9fb;--head:#eef2f6}
        *{box-sizing:border-box}
        html{-webkit-text-size-adjust:100%}
        body{margin:0;background:var(--bg);color:var(--ink);\
        font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans","Helvetica Neue",Arial,sans-serif}
        .wrap{max-width:1240px;margin:0 auto;padding:0 24px}
        .top{background:var(--panel);border-bottom:1px solid var(--line);border-top:4px solid var(--accent)}
        .top-inner{display:flex;flex-wrap:wrap;gap:16px;align-items:center;justify-content:space-between;padding-top:20px;padding-bottom:20px}
        h1{margin:0;font-size:1.6rem;line-height:1.2;letter-spacing:-.01em;overflow-wrap:anywhere}
        .period{margin:4px 0 0;color:var(--muted)}
        .periods{display:inline-flex;border:1px solid var(--line);border-radius:8px;overflow:hidden;background:var(--bg)}
        .periods a{padding:7px 14px;color:var(--muted);text-decoration:none;font-weight:600;font-size:.9rem;border-left:1px solid var(--line)}
        .periods a:first-child{border-left:0}
        .periods a:hover{background:var(--head);color:var(--ink)}
        .periods a:focus-visible{outline:3px solid var(--accent);outline-offset:-3px}
        .periods a.selected{background:var(--accent);color:#fff}
        main{padding-top:8px;padding-bottom:24px}
        section{margin-top:28px}
        h2{font-size:1.05rem;margin:0 0 12px;letter-spacing:.01em}
        .cards{display:grid;gap:14px;grid-template-columns:repeat(auto-fill,minmax(min(100%,300px),1fr))}
        .card,.panel{background:var(--panel);border:1px solid var(--line);border-radius:10px}
        .card{padding:14px 16px 16px}
        .card-head{display:flex;gap:8px;align-items:flex-start;justify-content:space-between}
        .card h3{margin:0;font-size:.9rem;font-weight:500;color:var(--muted);overflow-wrap:anywhere}
        .badge{flex:none;font-size:.75rem;font-weight:700;padding:2px 9px;border-radius:999px;color:#fff;white-space:nowrap}
        .badge.met{background:var(--met)}
        .badge.missed{background:var(--missed)}
        .value{margin:6px 0 0;font-size:1.9rem;font-weight:700;line-height:1.1;font-variant-numeric:tabular-nums}
        .target{margin:2px 0 10px;color:var(--muted);font-size:.85rem}
        .meter{position:relative;height:6px;border-radius:3px;background:var(--line)}
        .meter .fill{position:absolute;left:0;top:0;bottom:0;border-radius:3px;background:var(--accent)}
        .meter .fill.met{background:var(--met)}
        .meter .fill.missed{background:var(--missed)}
        .meter .tick{position:absolute;top:-4px;bottom:-4px;width:2px;margin-left:-1px;background:var(--ink)}
        .counts{display:grid;gap:12px;grid-template-columns:repeat(auto-fill,minmax(min(100%,240px),1fr));margin:0}
        .counts div{background:var(--panel);border:1px solid var(--line);border-left:4px solid #cbd2d9;border-radius:8px;padding:10px 14px}
        .counts dt{color:var(--muted);font-size:.85rem}
        .counts dd{margin:2px 0 0;font-size:1.4rem;font-weight:700;font-variant-numeric:tabular-nums}
        .charts{display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(min(100%,480px),1fr))}
        .chart.full{grid-column:1/-1}
        .for-narrow{display:none}
        figure{margin:0;padding:14px 16px 10px;min-width:0}
        figcaption{font-weight:600;margin-bottom:8px}
        figure svg{display:block;width:100%;height:auto}
        .table-panel{margin-bottom:16px;overflow:hidden}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;font-size:.875rem;font-variant-numeric:tabular-nums}
        caption{text-align:left;font-weight:600;padding:12px 14px 10px;font-size:.95rem}
        th,td{padding:7px 14px;text-align:left;white-space:nowrap;border-top:1px solid var(--line)}
        thead th{background:var(--head);font-weight:600;color:var(--ink);border-top:0}
        tbody th{font-weight:500}
        tbody tr:nth-child(even){background:var(--zebra)}
        .num{text-align:right}
        .empty{color:var(--faint);text-align:center}
        .foot{color:var(--faint);font-size:.8rem;padding-bottom:32px}
        @media (max-width:640px){.for-wide{display:none}.for-narrow{display:block}}
        @media (max-width:600px){.wrap{padding:0 14px}.counts{grid-template-columns:repeat(2,minmax(0,1fr))}h1{font-size:1.3rem}.value{font-size:1.6rem}}
        @media print{body{background:#fff}.periods{display:none}.card,.panel,.counts div{break-inside:avoid}}
        """
}
