/// cairo could not draw or write a report; the description names cairo's status, never document text.
public struct ReportError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case surface
            case drawing
            case output
        }

        private let base: Base

        /// cairo could not create the PDF or SVG surface (usually out of memory).
        public static let surface = Code(base: .surface)
        /// A drawing operation left the context in an error state.
        public static let drawing = Code(base: .drawing)
        /// Finishing the document (embedding fonts, writing the stream) failed.
        public static let output = Code(base: .output)

        public var description: String {
            switch base {
            case .surface: "surface"
            case .drawing: "drawing"
            case .output: "output"
            }
        }
    }

    public var code: Code
    /// cairo's `cairo_status_t` value, for bug reports.
    public var cairoStatus: Int
    /// cairo's own wording of the status.
    public var message: String

    public init(_ code: Code, cairoStatus: Int, message: String) {
        self.code = code
        self.cairoStatus = cairoStatus
        self.message = message
    }

    public var description: String { "\(code): cairo status \(cairoStatus) (\(message))" }
}
