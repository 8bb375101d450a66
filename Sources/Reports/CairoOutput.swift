import Foundation
internal import CCairo

/// Runs one cairo document from surface to bytes: creates the surface on a write callback that
/// appends to memory (no temporary files), lets the caller draw, finishes it, and turns any cairo
/// status other than success into a `ReportError`. Each call owns its surface, context and buffer.
enum CairoOutput {
    /// Creates a stream surface from cairo's write callback and its closure pointer.
    typealias SurfaceFactory = (cairo_write_func_t?, UnsafeMutableRawPointer?) -> OpaquePointer?

    /// The document's bytes, or nil when `capture` is false (a dry run, e.g. to count pages).
    static func render(
        capture: Bool, surface makeSurface: SurfaceFactory, draw: (Canvas, OpaquePointer) -> Void
    ) throws(ReportError) -> Data? {
        let buffer = OutputBuffer()
        return try withExtendedLifetime(buffer) { () throws(ReportError) -> Data? in
            // cairo keeps the closure pointer until the surface is finished, below; the buffer
            // outlives it because of withExtendedLifetime, so an unretained reference is enough.
            let closure = capture ? Unmanaged.passUnretained(buffer).toOpaque() : nil
            guard let surface = capture ? makeSurface(appendToBuffer, closure) : makeSurface(nil, nil) else {
                throw ReportError(.surface, cairoStatus: Int(CAIRO_STATUS_NO_MEMORY.rawValue), message: "no surface")
            }
            defer { cairo_surface_destroy(surface) }
            try check(cairo_surface_status(surface), .surface)

            guard let context = cairo_create(surface) else {
                throw ReportError(.surface, cairoStatus: Int(CAIRO_STATUS_NO_MEMORY.rawValue), message: "no context")
            }
            draw(Canvas(context), surface)
            let drawingStatus = cairo_status(context)
            cairo_destroy(context)
            try check(drawingStatus, .drawing)

            cairo_surface_finish(surface)
            try check(cairo_surface_status(surface), .output)
            return capture ? buffer.data : nil
        }
    }

    private static func check(_ status: cairo_status_t, _ code: ReportError.Code) throws(ReportError) {
        guard status != CAIRO_STATUS_SUCCESS else { return }
        let message = cairo_status_to_string(status).map { String(cString: $0) } ?? "unknown"
        throw ReportError(code, cairoStatus: Int(status.rawValue), message: message)
    }
}

/// Where a stream surface's bytes go; only ever touched by the thread drawing its document.
private final class OutputBuffer {
    var data = Data()
}

/// cairo's `cairo_write_func_t`: appends a chunk of the document to the `OutputBuffer` passed as
/// the closure pointer. A C function pointer cannot capture, hence the pointer round trip.
private func appendToBuffer(_ closure: UnsafeMutableRawPointer?, _ bytes: UnsafePointer<UInt8>?, _ length: UInt32) -> cairo_status_t {
    guard let closure else { return CAIRO_STATUS_WRITE_ERROR }
    guard let bytes, length > 0 else { return CAIRO_STATUS_SUCCESS }
    Unmanaged<OutputBuffer>.fromOpaque(closure).takeUnretainedValue().data.append(bytes, count: Int(length))
    return CAIRO_STATUS_SUCCESS
}
