import CRMModel
import Foundation
import Logging
import Persistence
import PostgresNIO
import Testing

/// On PostgreSQL the send path's writes that arrive together share one transaction
/// (`PostgresGroupCommit`). Each must still be its own all-or-nothing unit: committed whole with its
/// event, failing alone when at fault, and never committed once its caller was told it was not.
///
/// To make writes arrive together without timing, another connection holds the event counter's row:
/// the first write's transaction waits for it at its last statement while the others queue behind.
@Suite("PostgreSQL group commit")
struct PostgresGroupCommitTests {
    let fixtures = StoreConformanceTests()
    let quiet = StoreBackend.quiet

    @Test(
        "writes that arrive together share transactions, each whole and with its own event",
        .enabled(if: StoreBackend.serverURL != nil, "needs CRM_TEST_POSTGRES_URL")
    )
    func shared() async throws {
        try await withStore { store, counter in
            let written = try (0..<100).map { _ in try fixtures.communication() }
            try await counter.hold()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for communication in written { group.addTask { try await store.insert(communication, leasedTo: nil) } }
                try await counter.waitForWriters(100, in: store)
                try await counter.release()
                try await group.waitForAll()
            }
            // Two batches went while the others were still arriving (each waits at the counter); the
            // rest in batches of at most 64.
            let transactions = try #require(try await counter.query("SELECT count(DISTINCT xmin::text) FROM communications"))
            #expect(transactions <= 4)
            let events = try await store.events(matching: EventQuery(after: 0, limit: 1000))
            #expect(events.map(\.seq) == Array(1...100))
            for communication in written {
                let read = try #require(try await store.communication(id: communication.id))
                #expect(read.recipient == communication.recipient && read.events.map(\.status) == [.queued])
                #expect(try await store.events(matching: EventQuery(communicationID: communication.id)).count == 1)
            }
        }
    }

    @Test(
        "a write at fault in a shared transaction fails alone; the others commit",
        .enabled(if: StoreBackend.serverURL != nil, "needs CRM_TEST_POSTGRES_URL")
    )
    func faultAlone() async throws {
        try await withStore { store, counter in
            let (first, second, moved, later) = (
                try fixtures.communication(), try fixtures.communication(), try fixtures.communication(), try fixtures.communication()
            )
            try await store.insert(moved, leasedTo: nil)
            let sent = Attempt(number: 1, channel: .email, provider: "outbox", startedAt: StoreConformanceTests.start,
                               latencyMilliseconds: 4, outcome: .sent, providerMessageID: "m1")
            let tried = try fixtures.communication()
            try await store.insert(tried, leasedTo: nil)
            let failed = Attempt(number: 1, channel: .email, provider: "outbox", startedAt: StoreConformanceTests.start,
                                 latencyMilliseconds: 4, outcome: .failed, errorCategory: .transient, error: "timeout")
            #expect(try await store.record(failed, for: tried.id, movingTo: nil) == nil)
            try await counter.hold()
            // Both batches under way wait at the counter.
            async let a: Void = store.insert(first, leasedTo: nil)
            try await counter.waitForWriters(1, in: store)
            async let a2: Void = store.insert(second, leasedTo: nil)
            try await counter.waitForWriters(2, in: store, onLocks: 2)
            // Behind them, together: a move, the same attempt recorded twice (the server refuses the
            // batch's statement: a primary key), an insert. (An attempt for a communication that is
            // not stored the store refuses before any statement: StoreConformanceTests.)
            async let b = store.record(sent, for: moved.id, movingTo: .sent)
            let twice = Task { try await store.record(failed, for: tried.id, movingTo: nil) }
            async let d: Void = store.insert(later, leasedTo: nil)
            try await counter.waitForWriters(5, in: store, onLocks: 2)
            try await counter.release()
            try await a
            try await a2
            #expect(try await b?.status == .sent)
            await #expect(throws: StoreError.self) { try await twice.value }
            try await d
            #expect(try await store.communication(id: moved.id)?.status == .sent)
            #expect(try await store.communication(id: later.id) != nil)
            #expect(try await store.communication(id: tried.id)?.attempts.count == 1)
            #expect(try await store.events(matching: EventQuery(after: 0, limit: 100)).map(\.seq) == [1, 2, 3, 4, 5, 6])
        }
    }

    @Test(
        "a move of a communication whose batch is being committed waits for that commit, and follows it; writes behind it go on",
        .enabled(if: StoreBackend.serverURL != nil, "needs CRM_TEST_POSTGRES_URL")
    )
    func sameCommunication() async throws {
        try await withStore { store, counter in
            let (communication, other) = (try fixtures.communication(), try fixtures.communication())
            try await store.insert(communication, leasedTo: nil)
            let sent = Attempt(number: 1, channel: .email, provider: "outbox", startedAt: StoreConformanceTests.start,
                               latencyMilliseconds: 4, outcome: .sent, providerMessageID: "m1")
            try await counter.hold()
            async let moved = store.record(sent, for: communication.id, movingTo: .sent)
            try await counter.waitForWriters(1, in: store)
            // The receipt, with a batch free to take it: it must not stage against the row before "sent".
            async let delivered = store.move(
                communication.id, to: .delivered, channel: .email, detail: nil, providerMessageID: "m1",
                at: StoreConformanceTests.start.addingTimeInterval(1)
            )
            try await counter.waitForWriters(2, in: store)
            // Behind the receipt, a write about something else: the free batch takes it (and waits at
            // the counter too) rather than leave it behind the receipt.
            async let accepted: Void = store.insert(other, leasedTo: nil)
            try await counter.waitForWriters(3, in: store, onLocks: 2)
            try await counter.release()
            #expect(try await moved?.status == .sent)
            #expect(try await delivered?.previousStatus == .sent)
            try await accepted
            #expect(try await store.communication(id: communication.id)?.events.map(\.status) == [.queued, .sent, .delivered])
            #expect(try await store.communication(id: other.id) != nil)
        }
    }

    @Test(
        "a write whose caller gave up while it waited in a shared transaction is not committed",
        .enabled(if: StoreBackend.serverURL != nil, "needs CRM_TEST_POSTGRES_URL")
    )
    func abandoned() async throws {
        try await withStore(deadline: .seconds(1)) { store, counter in
            let written = try (0..<3).map { _ in try fixtures.communication() }
            try await counter.hold()
            let outcomes = try await withThrowingTaskGroup(of: StoreError.Code?.self) { group in
                for communication in written {
                    group.addTask {
                        do throws(StoreError) {
                            try await store.insert(communication, leasedTo: nil)
                            return nil
                        } catch {
                            return error.code
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // Every caller heard "not stored" (-32001) while the counter was held.
            #expect(outcomes == [.unavailable, .unavailable, .unavailable])
            try await counter.release()
            // What was in flight has its answer by now, and was rolled back rather than committed.
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await counter.query("SELECT count(*) FROM communications") == 0)
            #expect(try await counter.query("SELECT count(*) FROM events") == 0)
            // And the store goes on: the next write commits.
            let next = try fixtures.communication()
            try await store.insert(next, leasedTo: nil)
            #expect(try await store.communication(id: next.id) != nil)
        }
    }

    /// Runs `body` with a fresh store on its own database, and a `Counter` on the same database.
    private func withStore(
        deadline: Duration = .seconds(20), _ body: @Sendable (PostgresStore, Counter) async throws -> Void
    ) async throws {
        let url = try await StoreBackend.freshDatabase()
        let configuration = try PostgresConfiguration(url: url)
        let store = PostgresStore(configuration: configuration, cipher: StoreBackend.cipher, logger: quiet, deadline: deadline)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            try await store.migrate()
            let counter = try await Counter(configuration: configuration.client, logger: quiet)
            do {
                try await body(store, counter)
                try await counter.close()
            } catch {
                try? await counter.close()
                throw error
            }
        }
    }
}

/// A connection of its own that can hold the event counter's row: an open transaction that has
/// updated it, which every event-writing transaction then waits for until `release`.
private struct Counter: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    init(configuration: PostgresClient.Configuration, logger: Logger) async throws {
        let host = try #require(configuration.host)
        let connectionConfiguration = PostgresConnection.Configuration(
            host: host, port: configuration.port ?? 5432, username: configuration.username, password: configuration.password,
            database: configuration.database, tls: .disable
        )
        self.connection = try await PostgresConnection.connect(configuration: connectionConfiguration, id: 1, logger: logger)
        self.logger = logger
    }

    func hold() async throws {
        try await connection.query("BEGIN", logger: logger)
        try await connection.query("UPDATE event_counter SET last = last WHERE id = 1", logger: logger)
    }

    func release() async throws {
        try await connection.query("COMMIT", logger: logger)
    }

    /// Waits until `count` writes are waiting in `store`, and `onLocks` transactions on a lock.
    func waitForWriters(_ count: Int, in store: PostgresStore, onLocks: Int = 1) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            // This connection's transaction would otherwise see the activity as it was when it first looked.
            _ = try await query("SELECT 0 FROM pg_stat_clear_snapshot()")
            let waiting = try await query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
            if store.unfinishedWrites >= count, let waiting, waiting >= onLocks { return }
            try #require(
                ContinuousClock.now < deadline,
                "the writes never queued behind the held counter: \(store.unfinishedWrites) of \(count) waiting, \(waiting ?? 0) of \(onLocks) on locks"
            )
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The first column of the first row of `sql`, a count.
    func query(_ sql: String) async throws -> Int? {
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect().first?.decode(Int.self)
    }

    func close() async throws {
        try await connection.close()
    }
}
