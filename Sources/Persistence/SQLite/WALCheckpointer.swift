import Dispatch
import GRDB
import Logging
import Synchronization

/// Copies the write-ahead log into the database file from a connection of its own, so the writer
/// never stops to do it.
///
/// Why: by default SQLite checkpoints on the connection that commits, once the WAL passes 1,000
/// pages. That commit then also writes those pages into the database file and waits for its fsync,
/// and every write queued behind it waits too. At 1,000 `communicate` requests a second this was
/// the answers' p99: 32-150 ms with it, 16-18 ms without. A passive checkpoint on another
/// connection takes no write lock, so commits go on while it runs.
///
/// The writer keeps an automatic checkpoint far above this one's (`writerBackstopPages`): should
/// this one fall behind (a long read holding old pages), the WAL stays bounded all the same.
/// Nothing here weakens durability: a commit is durable in the WAL before it returns, whoever
/// copies it into the database file later, and SQLite makes an interrupted checkpoint harmless.
final class WALCheckpointer: Sendable {
    /// How long after a commit the checkpoint runs: commits meanwhile share it, so the pages they
    /// touch again and again (the right edge of each index) are copied once.
    static let delay = DispatchTimeInterval.milliseconds(250)
    /// The writer's own `wal_autocheckpoint`: 40 MB of WAL, where the default is 4 MB.
    static let writerBackstopPages = 10_000

    private let connection: DatabaseQueue
    private let queue = DispatchQueue(label: "crm-sidecar.sqlite-checkpoint")
    private let scheduled = Mutex(false)
    private let logger: Logger

    init(path: String, logger: Logger) throws {
        var configuration = Configuration()
        configuration.label = "crm-sidecar.checkpoint"
        configuration.busyMode = .timeout(5)
        connection = try DatabaseQueue(path: path, configuration: configuration)
        // The checkpoint fsyncs the database file before the WAL may be reused, as on the writer.
        try connection.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        self.logger = logger
    }

    /// Called after each commit: a checkpoint runs within `delay`, one for every commit meanwhile.
    func committed() {
        let first = scheduled.withLock { scheduled in
            defer { scheduled = true }
            return !scheduled
        }
        guard first else { return }
        queue.asyncAfter(deadline: .now() + Self.delay) { [self] in
            scheduled.withLock { $0 = false }
            do {
                try connection.writeWithoutTransaction { _ = try $0.checkpoint(.passive) }
            } catch {
                // The next commit schedules another; the writer's backstop bounds the WAL meanwhile.
                logger.debug("WAL checkpoint did not run", metadata: ["error": "\(SQLiteStore.describe(error))"])
            }
        }
    }
}
