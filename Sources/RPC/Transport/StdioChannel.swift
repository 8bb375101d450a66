import Foundation
import Logging
package import NIOCore
import NIOPosix

/// stdin and stdout as one NIO pipe channel that reads lines and writes bytes.
///
/// NIO watches descriptors with epoll, which refuses regular files and some devices: `crm-sidecar <
/// requests.jsonl` or `> out.jsonl` would fail. Such a descriptor is bridged through a pipe by a
/// thread that only copies bytes, so the rest of the server has one code path whatever stdin is.
package struct StdioChannel: Sendable {
    package typealias Channel = NIOAsyncChannel<InboundFrame, ByteBuffer>

    package let channel: Channel
    /// The file status flags stdin and stdout had before NIO made them non-blocking.
    private let savedFlags: [(descriptor: CInt, flags: CInt)]
    /// Bridges still copying responses to a stdout that is not a pipe.
    private let outputBridges: DispatchGroup

    package static func open(maxLineLength: Int) async throws -> StdioChannel {
        let savedFlags = [STDIN_FILENO, STDOUT_FILENO].map { (descriptor: $0, flags: fcntl($0, F_GETFL)) }
        let outputBridges = DispatchGroup()
        let input = try pollable(STDIN_FILENO, reading: true, bridges: outputBridges)
        let output = try pollable(STDOUT_FILENO, reading: false, bridges: outputBridges)
        let channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            // End of input must not close stdout: responses to requests still in flight go out after it.
            .channelOption(.allowRemoteHalfClosure, value: true)
            .takingOwnershipOfDescriptors(input: input, output: output) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: maxLineLength)))
                    return try Channel(wrappingChannelSynchronously: channel)
                }
            }
        return StdioChannel(channel: channel, savedFlags: savedFlags, outputBridges: outputBridges)
    }

    /// Call once the channel is closed: waits until every response has reached stdout (even through a
    /// bridge), and gives stdin and stdout back their blocking mode. The flag lives on the open file,
    /// which a terminal shares with the shell that started the sidecar.
    package func finish() {
        outputBridges.wait()
        for (descriptor, flags) in savedFlags where flags >= 0 {
            _ = fcntl(descriptor, F_SETFL, flags)
        }
    }

    /// `descriptor` itself when epoll can watch it, otherwise a pipe end fed or drained by a thread.
    private static func pollable(_ descriptor: CInt, reading: Bool, bridges: DispatchGroup) throws -> CInt {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw POSIXError(.EBADF) }
        let kind = status.st_mode & S_IFMT
        if kind == S_IFIFO || kind == S_IFSOCK || kind == S_IFCHR && isatty(descriptor) == 1 {
            return dup(descriptor)
        }
        var ends: [CInt] = [0, 0]
        guard pipe(&ends) == 0 else { throw POSIXError(.EMFILE) }
        let (from, to) = reading ? (descriptor, ends[1]) : (ends[0], descriptor)
        if !reading { bridges.enter() }
        let thread = Thread {
            copy(from: from, to: to)
            close(reading ? to : from)
            if !reading { bridges.leave() }
        }
        thread.name = reading ? "stdin-bridge" : "stdout-bridge"
        thread.start()
        return reading ? ends[0] : ends[1]
    }

    private static func copy(from source: CInt, to destination: CInt) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + offset, count - offset) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}
