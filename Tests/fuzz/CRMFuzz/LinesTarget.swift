import NIOCore
import NIOEmbedded
import RPC

/// The line decoder against a reference: the same input, cut into chunks anywhere, gives the frames
/// a plain split on LF gives (CR before LF dropped, a line past the limit reported once as oversized).
enum LinesTarget {
    static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let maxLength = 1 + Int(input.byte() % 48)
        var seed = UInt64(input.byte()) | 1
        let stream = input.bytes()

        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(maxLength: maxLength)))
        var offset = 0
        while offset < stream.count {
            // xorshift: chunk sizes from 1 to 16, the same for the same input.
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            let end = min(stream.count, offset + 1 + Int(seed % 16))
            _ = try? channel.writeInbound(ByteBuffer(bytes: stream[offset..<end]))
            offset = end
        }
        _ = try? channel.finish(acceptAlreadyClosed: true)
        var frames: [InboundFrame] = []
        while let frame: InboundFrame = try? channel.readInbound() {
            frames.append(frame)
        }
        let expected = reference(stream, maxLength: maxLength)
        require(frames == expected, "frames \(frames) differ from the reference \(expected), limit \(maxLength)")
    }

    static func reference(_ stream: [UInt8], maxLength: Int) -> [InboundFrame] {
        var segments = stream.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // A stream ending in LF leaves an empty last segment: no line there.
        if segments.last?.isEmpty == true { segments.removeLast() }
        return segments.map { segment in
            if segment.count > maxLength { return .oversized(limit: maxLength) }
            return .line(Array(segment.last == UInt8(ascii: "\r") ? segment.dropLast() : segment))
        }
    }
}
