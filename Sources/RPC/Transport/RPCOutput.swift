import CRMModel
import Foundation
package import Logging
package import NIOCore

/// The one writer of stdout: each message is encoded as one line and written whole, so lines from
/// concurrent requests never interleave.
package actor RPCOutput {
    private let writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private let encoder = WireJSON.makeEncoder()
    private let logger: Logger
    private var broken = false

    package init(writer: NIOAsyncChannelOutboundWriter<ByteBuffer>, logger: Logger) {
        self.writer = writer
        self.logger = logger
    }

    /// Encodes and writes `message`. When the result cannot be encoded, a response's id still gets an
    /// internal error, so every request is answered.
    package func send(_ message: some Encodable) async {
        var bytes: Data
        do {
            bytes = try encoder.encode(message)
        } catch {
            logger.error("a message could not be encoded", metadata: ["error": "\(error)"])
            guard let response = message as? RPCResponse,
                let fallback = try? encoder.encode(RPCResponse.error(.internalError, id: response.id))
            else { return }
            bytes = fallback
        }
        bytes.append(UInt8(ascii: "\n"))
        await write(ByteBuffer(bytes: bytes))
    }

    private func write(_ buffer: ByteBuffer) async {
        guard !broken else { return }
        do {
            try await writer.write(buffer)
        } catch {
            // The reader is gone; there is no one left to answer, so say it once and stop trying.
            broken = true
            logger.error("stdout is closed; responses can no longer be delivered", metadata: ["error": "\(error)"])
        }
    }
}
