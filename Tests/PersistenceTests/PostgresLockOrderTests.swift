import CRMModel
import Foundation
import Persistence
import PostgresNIO
import Testing

/// On PostgreSQL a communication's writes and its event go in one statement, and PostgreSQL runs
/// the statement's `WITH` writes in an order of its own choosing. The event counter's row, which
/// every event-writing transaction locks, must still be the last lock taken: a write that waits
/// for another transaction while holding it deadlocks as soon as that transaction logs an event.
@Suite("PostgreSQL's lock order")
struct PostgresLockOrderTests {
    let fixtures = StoreConformanceTests()

    @Test(
        "a communication waiting for another transaction's new contact leaves the event counter free",
        .enabled(if: StoreBackend.serverURL != nil, "needs CRM_TEST_POSTGRES_URL")
    )
    func contactWaitHoldsNoCounter() async throws {
        let url = try await StoreBackend.freshDatabase()
        let quiet = StoreBackend.quiet
        let store = PostgresStore(configuration: try PostgresConfiguration(url: url), cipher: StoreBackend.cipher, logger: quiet)
        let other = PostgresClient(configuration: try PostgresConfiguration(url: url).client, backgroundLogger: quiet)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            group.addTask { await other.run() }
            defer { group.cancelAll() }
            try await store.migrate()
            let communication = try fixtures.communication()
            let (client, index) = (communication.clientID.canonicalString, StoreBackend.cipher.blindIndex("priya@example.com"))
            try await other.withConnection { connection in
                // Another transaction adds the client's email contact and keeps it uncommitted.
                try await connection.query("BEGIN", logger: quiet)
                do {
                    try await connection.query("""
                        INSERT INTO client_contacts (client_id, channel, address_index, address, updated_at)
                        VALUES (\(client), 'email', \(index), \(Data([1])), 1)
                        """, logger: quiet)
                    let insert = Task { try await store.insert(communication, leasedTo: nil) }
                    // The communication's statement reaches the same contact and waits for that transaction.
                    let deadline = ContinuousClock.now + .seconds(20)
                    while try await other.query(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", logger: quiet
                    ).collect().first?.decode(Int.self) == 0 {
                        try #require(ContinuousClock.now < deadline, "the communication's insert never waited for the contact")
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    // Now that transaction logs an event. Were the counter held by the waiting statement,
                    // this would wait for it in turn, and PostgreSQL would end the deadlock after a
                    // second by failing one of the two.
                    try await connection.query("UPDATE event_counter SET last = last WHERE id = 1", logger: quiet)
                    try await connection.query("COMMIT", logger: quiet)
                    _ = try await insert.value
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: quiet)
                    throw error
                }
            }
            #expect(try await store.communication(id: communication.id)?.recipient == communication.recipient)
        }
    }
}
