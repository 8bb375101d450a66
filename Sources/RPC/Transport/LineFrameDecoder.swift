package import NIOCore

/// Splits input into lines (`\n`, with an optional `\r` before it) of at most `maxLength` bytes.
///
/// A longer line is reported once, as soon as it passes the limit, and then skipped without being
/// buffered, so a client can neither exhaust memory nor stop the sidecar from reading the next line.
/// A last line without a line end is still a line.
package struct LineFrameDecoder: ByteToMessageDecoder {
    package typealias InboundOut = InboundFrame

    private let maxLength: Int
    /// Bytes of the current line already searched for a line end.
    private var searched = 0
    /// True while skipping the rest of an oversized line.
    private var skipping = false

    package init(maxLength: Int) {
        self.maxLength = maxLength
    }

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = nextFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    package mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        if let frame = nextFrame(from: &buffer) {
            context.fireChannelRead(Self.wrapInboundOut(frame))
            return .continue
        }
        if buffer.readableBytes > 0 && !skipping {
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            context.fireChannelRead(Self.wrapInboundOut(.line(Self.trimmingCarriageReturn(bytes))))
        }
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }

    /// The next frame in `buffer`, consuming what it took; nil when more input is needed.
    mutating func nextFrame(from buffer: inout ByteBuffer) -> InboundFrame? {
        let view = buffer.readableBytesView
        if let newline = view[view.startIndex.advanced(by: searched)...].firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - view.startIndex
            searched = 0
            if skipping {
                skipping = false
                buffer.moveReaderIndex(forwardBy: length + 1)
                return nextFrame(from: &buffer)
            }
            if length > maxLength {
                buffer.moveReaderIndex(forwardBy: length + 1)
                return .oversized(limit: maxLength)
            }
            let bytes = buffer.readBytes(length: length) ?? []
            buffer.moveReaderIndex(forwardBy: 1)
            return .line(Self.trimmingCarriageReturn(bytes))
        }
        if skipping {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
        if view.count > maxLength {
            skipping = true
            searched = 0
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .oversized(limit: maxLength)
        }
        searched = view.count
        return nil
    }

    private static func trimmingCarriageReturn(_ bytes: [UInt8]) -> [UInt8] {
        bytes.last == UInt8(ascii: "\r") ? Array(bytes.dropLast()) : bytes
    }
}
