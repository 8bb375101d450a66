import NIOCore
import NIOEmbedded
import Testing

@testable import RPC

@Suite("Splitting input into lines")
struct LineFrameDecoderTests {
    func frames(_ chunks: [String], maxLength: Int = 8) throws -> [InboundFrame] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(maxLength: maxLength)))
        for chunk in chunks {
            try channel.writeInbound(ByteBuffer(string: chunk))
        }
        _ = try channel.finish(acceptAlreadyClosed: true)
        var frames: [InboundFrame] = []
        while let frame: InboundFrame = try channel.readInbound() {
            frames.append(frame)
        }
        return frames
    }

    @Test("lines split on LF, CR before it dropped, arriving in any chunks")
    func lines() throws {
        #expect(try frames(["ab\ncd\r", "\nef", "gh\n"]) == [.line(Array("ab".utf8)), .line(Array("cd".utf8)), .line(Array("efgh".utf8))])
    }

    @Test("a last line without a line end is still a line")
    func lastLine() throws {
        #expect(try frames(["ab\ncd"]) == [.line(Array("ab".utf8)), .line(Array("cd".utf8))])
    }

    @Test("an oversized line is reported once, skipped, and the next line is read")
    func oversized() throws {
        let result = try frames(["0123456", "789abcdef", "ghij\nok\n"])
        #expect(result == [.oversized(limit: 8), .line(Array("ok".utf8))])
    }

    @Test("a line of exactly the limit is accepted")
    func exactLimit() throws {
        #expect(try frames(["12345678\n"]) == [.line(Array("12345678".utf8))])
    }

    @Test("an oversized line that ends in the same chunk is reported")
    func oversizedInOneChunk() throws {
        #expect(try frames(["123456789\nok\n"]) == [.oversized(limit: 8), .line(Array("ok".utf8))])
    }
}
