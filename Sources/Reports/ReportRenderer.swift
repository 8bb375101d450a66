public import Foundation
internal import CCairo

/// Draws a `ReportDocument` with cairo: the whole report as an A4 PDF, or one chart as SVG for the
/// dashboard. Both go through the same chart code (`GroupedBarChart`, `DailyLineChart`), so the
/// page a planner forwards and the dashboard show the same pictures.
///
/// Every call makes its own surface and context and keeps no state, so calls may run on several
/// threads at once.
public enum ReportRenderer {
    /// The report as an A4 portrait PDF, fonts embedded (DejaVu Sans, subset).
    public static func pdf(_ document: ReportDocument) throws -> Data {
        // A dry run on a surface that writes nowhere counts the pages, so each footer can say
        // "Page n of N"; the layout depends only on the document, so both runs break alike.
        let pages = try renderPDF(document, totalPages: nil, capture: false).pages
        let result = try renderPDF(document, totalPages: pages, capture: true)
        return result.data ?? Data()
    }

    private static func renderPDF(_ document: ReportDocument, totalPages: Int?, capture: Bool) throws(ReportError) -> (data: Data?, pages: Int) {
        var pages = 0
        let data = try CairoOutput.render(capture: capture) { write, closure in
            let surface = cairo_pdf_surface_create_for_stream(write, closure, PDFReportLayout.pageWidth, PDFReportLayout.pageHeight)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, document.title)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_SUBJECT, document.period)
            return surface
        } draw: { canvas, surface in
            var layout = PDFReportLayout(document: document, canvas: canvas, surface: surface, totalPages: totalPages)
            pages = layout.draw()
        }
        return (data, pages)
    }

    /// One chart as an `<svg>` element ready to inline in HTML (no XML declaration, element ids
    /// prefixed so several charts can share a page), `width` × `height` user units. Text is drawn
    /// as glyph outlines, so the chart looks the same whatever fonts the browser has.
    /// Never fails: should cairo report an error, the result is an empty SVG of that size that
    /// says the chart is unavailable.
    public static func svg(chart: Chart, of document: ReportDocument, width: Double, height: Double) -> String {
        let width = width.isFinite ? min(max(width, 120), 4000) : 640
        let height = height.isFinite ? min(max(height, 80), 4000) : 320
        let data = try? CairoOutput.render(capture: true) { write, closure in
            let surface = cairo_svg_surface_create_for_stream(write, closure, width, height)
            // Unitless width and height: CSS sizes the element, the viewBox keeps the drawing whole.
            cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_USER)
            return surface
        } draw: { canvas, _ in
            draw(chart, of: document, on: canvas, in: Rect(x: 0, y: 0, width: width, height: height).inset(by: 3), style: .svg)
        }
        guard let data, let text = String(data: data, encoding: .utf8) else {
            return """
                <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
                viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(chart.title.htmlEscaped): chart unavailable"></svg>
                """
        }
        return InlineSVG.make(from: text, label: chart.title)
    }

    /// The chart's drawing, shared by the PDF page and the SVG.
    static func draw(_ chart: Chart, of document: ReportDocument, on canvas: Canvas, in frame: Rect, style: ChartStyle) {
        switch chart {
        case .byChannel:
            GroupedBarChart(groups: document.byChannel, series: document.barSeries, style: style).draw(on: canvas, in: frame)
        case .byMessageType:
            GroupedBarChart(groups: document.byMessageType, series: document.barSeries, style: style).draw(on: canvas, in: frame)
        case .daily:
            DailyLineChart(points: document.daily, style: style).draw(on: canvas, in: frame)
        }
    }
}
