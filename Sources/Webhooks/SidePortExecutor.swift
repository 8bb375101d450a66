import NIOCore
import NIOPosix

/// Where the side port's work runs: its request handlers run as jobs on the side port's own event
/// loop, one thread, instead of Swift's cooperative pool, which the JSON-RPC server and the send loop
/// share. A flood of forged requests, refused before it reaches anything shared, then has that one
/// thread to take.
///
/// A real callback goes further, into actors stdio uses too (the event intake, the notification sink
/// and stdout's writer); an actor without an executor of its own runs on the one its caller prefers,
/// so that part of a callback runs here as well, and stdio's requests still wait their turn at those
/// actors as before. The database's own threads (GRDB's writer, PostgreSQL's event loops) stay shared.
///
/// Measured with `test_side_port_abuse.py` (debug build, 2 CPUs): with the handlers on the pool, 2,300-
/// 2,700 forged requests a second took stdio's `health` p99 from 3.5 to 10.2-10.5 ms (2.9-3.0x); here,
/// 1,900-2,200 a second take it from 3.0-3.6 to 3.9-4.8 ms (1.3x). Lowering the thread's priority as
/// well (nice 10) changed nothing measurable, so it runs at the process's.
final class SidePortExecutor: TaskExecutor {
    static let shared = SidePortExecutor()

    /// It lives as long as the process, as NIO's own singleton does: shut down when the server
    /// returned, connections still closing scheduled work on it, and NIO said so on stderr, which is
    /// for JSON log lines only.
    let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let loop: any EventLoop

    private init() {
        loop = eventLoops.next()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
