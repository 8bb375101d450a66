/// One line read from the input, or the news that a line was too long to read.
package enum InboundFrame: Sendable, Equatable {
    /// The line's bytes, without its line end.
    case line([UInt8])
    /// A line grew past the limit; its bytes were skipped up to the next line end.
    case oversized(limit: Int)
}
