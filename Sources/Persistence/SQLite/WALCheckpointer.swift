import Dispatch
import GRDB
import Logging
import Synchronization

/// Copies the write-ahead log into the database file from a connection of its own, so the writer
/// rarely stops to do it.
///
/// Why: by default SQLite checkpoints on the connection that commits, once the WAL passes 1,000
/// pages (4 MB). That commit then copies those pages into the database file and waits for its
/// fsync, and every write queued behind it (answers waiting to be acknowledged) waits too; the
/// writer is the store's one serial point. A passive checkpoint on another connection takes no
/// write lock, so commits go on while it runs.
///
/// What is left to the writer: SQLite starts the WAL over only once every frame in it has been
/// copied, and under steady writes the writer appends frames while this connection copies. So the
/// WAL grows until the writer's own threshold (`writerBackstopPages`); there the writer copies what
/// is left (the frames of the last `delay`, since this connection keeps up) and the WAL starts over.
/// Neither can copy past a reader still using old frames: both are passive.
///
/// Nothing here weakens durability: a commit is durable in the WAL (synchronous=FULL) before it
/// returns, whoever copies it later; this connection syncs the WAL before copying and the database
/// file after; an interrupted checkpoint is harmless by SQLite's design.
final class WALCheckpointer: Sendable {
    /// How long after a commit the checkpoint runs: commits meanwhile share it, so the pages they
    /// touch again and again (the right edge of each index) are copied once. Short, because what it
    /// has not copied yet when the WAL reaches the backstop is the writer's to copy: with 250 ms,
    /// scheduling 100,000 at 3,000-4,000 a second left the writer about a thousand pages each time,
    /// and the answers' p99 rose from 36-39 ms (no checkpointer) to 49-63 ms; with 50 ms it is 36 ms.
    static let delay = DispatchTimeInterval.milliseconds(50)
    /// The writer's own `wal_autocheckpoint`: 16 MB of WAL, where SQLite's default is 4 MB.
    static let writerBackstopPages = 4_000
    /// The writer's `journal_size_limit`: what the WAL file is cut back to when it starts over.
    static let walSizeLimit = 16 * 1024 * 1024

    private let connection: DatabaseQueue
    private let queue = DispatchQueue(label: "crm-sidecar.sqlite-checkpoint")
    private let state = Mutex(State())
    private let logger: Logger

    private struct State {
        var scheduled = false
        /// Whether the last checkpoint failed with something other than SQLITE_BUSY: said once, not each time.
        var failing = false
    }

    init(path: String, logger: Logger) throws {
        var configuration = Configuration()
        configuration.label = "crm-sidecar.checkpoint"
        configuration.busyMode = .timeout(5)
        connection = try DatabaseQueue(path: path, configuration: configuration)
        // SQLite's default, set so no build's default can weaken it: the database file is synced
        // before the WAL may be reused.
        try connection.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        self.logger = logger
    }

    /// Called after each commit: a checkpoint runs within `delay`, one for every commit meanwhile.
    func committed() {
        let first = state.withLock { state in
            defer { state.scheduled = true }
            return !state.scheduled
        }
        guard first else { return }
        queue.asyncAfter(deadline: .now() + Self.delay) { [weak self] in self?.checkpoint() }
    }

    private func checkpoint() {
        state.withLock { $0.scheduled = false }
        do {
            let copied = try connection.writeWithoutTransaction { try $0.checkpoint(.passive) }
            let recovered = state.withLock { state in
                defer { state.failing = false }
                return state.failing
            }
            if recovered { logger.notice("WAL checkpoints run again") }
            // Frames left behind (a reader still on them, or commits meanwhile): try again shortly.
            if copied.checkpointedFrameCount < copied.walFrameCount { committed() }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            // Another process is checkpointing the same file: its copy serves both.
        } catch {
            let first = state.withLock { state in
                defer { state.failing = true }
                return !state.failing
            }
            // The next commit tries again; the writer's backstop bounds the WAL meanwhile.
            if first { logger.warning("WAL checkpoint failed; the writer will checkpoint by itself", metadata: ["error": "\(SQLiteStore.describe(error))"]) }
        }
    }
}
