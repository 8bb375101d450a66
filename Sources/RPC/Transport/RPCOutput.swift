package import CRMModel
import Foundation
package import Logging
package import NIOCore

/// The one writer of stdout: each message is encoded as one line and written whole, so lines from
/// concurrent requests never interleave.
///
/// Answers are encoded by their senders, on their own tasks, before they take their turn here, so
/// encoding one answer never waits for another's. Notifications are encoded here, in the order they
/// arrive: `NotificationSink` hands them over in the order the engine published them, and one
/// communication's notifications must reach the workflow in that order (their seq order).
package actor RPCOutput {
    private let writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private let encoder = WireJSON.makeEncoder()
    private let logger: Logger
    private var broken = false

    package init(writer: NIOAsyncChannelOutboundWriter<ByteBuffer>, logger: Logger) {
        self.writer = writer
        self.logger = logger
    }

    /// Writes a status change's notification, the message written most, without the generic encoder.
    package func send(_ notification: RPCNotification<StatusChange>) async {
        var bytes = Array(#"{"jsonrpc":"2.0","method":"#.utf8)
        WireJSON.appendString(notification.method, to: &bytes)
        bytes.append(contentsOf: #","params":"#.utf8)
        notification.params.appendWireJSON(to: &bytes)
        bytes.append(contentsOf: "}\n".utf8)
        await write(ByteBuffer(bytes: bytes))
    }

    /// Encodes and writes a notification (or any other message that carries no request's id).
    package func send(_ message: some Encodable) async {
        var bytes: [UInt8] = []
        do {
            try encoder.append(message, to: &bytes)
        } catch {
            logger.error("a message could not be encoded", metadata: ["error": "\(error)"])
            return
        }
        bytes.append(UInt8(ascii: "\n"))
        await write(ByteBuffer(bytes: bytes))
    }

    /// Writes a response with its id as the request wrote it.
    package nonisolated func send(_ response: RPCResponse) async {
        var bytes: [UInt8] = []
        guard append(response, to: &bytes) else { return }
        bytes.append(UInt8(ascii: "\n"))
        await write(ByteBuffer(bytes: bytes))
    }

    /// Writes a batch's responses as one array, on one line.
    package nonisolated func send(_ responses: [RPCResponse]) async {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        for response in responses {
            let start = bytes.count
            if start > 1 { bytes.append(UInt8(ascii: ",")) }
            if !append(response, to: &bytes) { bytes.removeSubrange(start...) }
        }
        guard bytes.count > 1 else { return }
        bytes.append(contentsOf: "]\n".utf8)
        await write(ByteBuffer(bytes: bytes))
    }

    /// Appends `response`; when its result cannot be encoded, an internal error for its id instead,
    /// so every request is answered. False only when even that failed and nothing was appended.
    private nonisolated func append(_ response: RPCResponse, to bytes: inout [UInt8]) -> Bool {
        do {
            try response.encode(using: encoder, into: &bytes)
            return true
        } catch {
            logger.error("a message could not be encoded", metadata: ["error": "\(error)"])
        }
        do {
            try RPCResponse.error(.internalError, id: response.id).encode(using: encoder, into: &bytes)
            return true
        } catch {
            return false
        }
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
