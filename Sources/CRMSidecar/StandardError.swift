import Foundation
import Synchronization

/// Whole lines to stderr, one writer at a time so lines never interleave.
///
/// stderr may share its open file with stdout (`2>&1`), which NIO makes non-blocking; a full pipe then
/// answers EAGAIN, and the writer waits for room instead of dropping the line.
enum StandardError {
    private static let lock = Mutex(())

    static func write(_ bytes: some ContiguousBytes) {
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Foundation.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0 && (errno == EINTR) {
                        continue
                    } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                        var descriptor = pollfd(fd: STDERR_FILENO, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&descriptor, 1, 1000)
                    } else {
                        return
                    }
                }
            }
        }
    }

    /// Ends the process between two lines, never in the middle of one another thread is writing:
    /// flushes C's stdio buffers and calls `_exit` (see `CRMSidecar.main`) while holding the writers'
    /// lock.
    static func exitBetweenLines(_ code: Int32) -> Never {
        lock.withLock { _ in
            fflush(nil)
            _exit(code)
        }
    }
}
