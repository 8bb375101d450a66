import Foundation
import Logging
import PostgresNIO

/// What a batch of the send path's writes reads before any of them stages: the rows of the
/// communications it may move, locked `FOR UPDATE`, and the keys of the clients it writes for,
/// held `FOR SHARE`, made first for clients that have none. One statement each for the whole
/// batch, instead of one a write in the batch's serial path.
struct PostgresBatchReads: Sendable {
    /// What a status move reads of a communication.
    struct Locked: Sendable {
        let planID: String
        let clientID: String
        let messageType: String
        let status: String
        let channelUsed: String?
    }

    /// By id; a communication that does not exist (yet) has no entry.
    private(set) var communications: [String: Locked] = [:]
    /// Wrapped data keys by client id.
    private(set) var wrappedKeys: [String: Data] = [:]

    /// Reads and locks what `keys` name, and makes the keys of clients that have none.
    ///
    /// Rows are locked in id order, as claims and erasures take them, and after the keys, as
    /// erasures take them. A key held `FOR SHARE` makes an erasure of its client wait until the
    /// batch has committed what it seals under the key.
    static func read(
        _ keys: [PostgresWriteKey], cipher: FieldCipher, on connection: PostgresConnection, logger: Logger
    ) async throws -> PostgresBatchReads {
        var (ids, clients): ([String], [String]) = ([], [])
        for key in keys {
            switch key {
            case .communication(let id): ids.append(id)
            case .client(let id): clients.append(id)
            case .idempotency: break
            }
        }
        var reads = PostgresBatchReads()
        // Keys before rows, as an erasure takes them (its client's key, then its rows); keys in id
        // order, as a key rotation takes them.
        if !clients.isEmpty {
            for try await (client, wrapped) in try await connection.query(
                "SELECT client_id, wrapped_key FROM client_keys WHERE client_id = ANY(\(clients)) ORDER BY client_id FOR SHARE", logger: logger
            ).decode((String, Data).self) {
                reads.wrappedKeys[client] = wrapped
            }
            let keyless = Set(clients).subtracting(reads.wrappedKeys.keys).sorted()
            if !keyless.isEmpty {
                for (client, wrapped) in try await makeKeys(for: keyless, cipher: cipher, on: connection, logger: logger) {
                    reads.wrappedKeys[client] = wrapped
                }
            }
        }
        if !ids.isEmpty {
            reads.communications = try await lock(
                "SELECT id, plan_id, client_id, message_type, status, channel_used FROM communications WHERE id = ANY(\(ids)) ORDER BY id FOR UPDATE",
                on: connection, logger: logger
            )
        }
        return reads
    }

    /// Makes and stores a data key for each of `clients` (in id order, as every sidecar inserts
    /// them); the stored keys by client.
    ///
    /// Another sidecar may create one of these keys at the same moment, or shred it: the first
    /// insert wins and everyone uses the stored key. `DO UPDATE` rather than `DO NOTHING` because
    /// PostgreSQL then promises a row back for each (inserted, or the one that won, locked until
    /// this transaction ends), so no shred can slip between an insert that lost and a second look.
    static func makeKeys(
        for clients: [String], cipher: FieldCipher, on connection: PostgresConnection, logger: Logger
    ) async throws -> [(String, Data)] {
        var statement = PostgresStatement(capacity: 128 + 64 * clients.count)
        statement.append("INSERT INTO client_keys (client_id, wrapped_key, created_at) VALUES ")
        let now = Date().millisecondsSince1970
        for (index, client) in clients.enumerated() {
            if index > 0 { statement.append(", ") }
            try statement.row(client, try cipher.newDataKey(for: client).wrapped, now)
        }
        statement.append(" ON CONFLICT (client_id) DO UPDATE SET wrapped_key = client_keys.wrapped_key RETURNING client_id, wrapped_key")
        var stored: [(String, Data)] = []
        for try await row in try await connection.query(statement.query, logger: logger).decode((String, Data).self) {
            stored.append(row)
        }
        guard stored.count == clients.count else {
            throw StoreError(.unavailable, "PostgreSQL answered a client key insert with too few keys; nothing was stored")
        }
        return stored
    }

    /// Runs `query`, which selects `id, plan_id, client_id, message_type, status, channel_used`
    /// and locks them; the rows by id.
    static func lock(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws -> [String: Locked] {
        var rows: [String: Locked] = [:]
        for try await (id, plan, client, type, status, channel) in try await connection.query(query, logger: logger)
            .decode((String, String, String, String, String, String?).self)
        {
            rows[id] = Locked(planID: plan, clientID: client, messageType: type, status: status, channelUsed: channel)
        }
        return rows
    }
}
