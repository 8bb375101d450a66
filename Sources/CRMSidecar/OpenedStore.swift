import Logging
import Persistence
import ServiceLifecycle
import Synchronization

/// The store the configuration names, and what it needs to run.
///
/// SQLite is ready as soon as it is opened. PostgreSQL needs its connection pool running (a
/// `Service` in the group) before it can migrate, so migration is a step of its own, run once
/// however many parts wait for it.
final class OpenedStore: Sendable {
    enum Backend {
        case sqlite(SQLiteStore)
        case postgres(PostgresStore)
    }

    let backend: Backend
    /// The master key the store was opened with.
    let master: MasterKey
    /// This sidecar's name among those sharing the database (SIDECAR_INSTANCE, or random per run).
    let instance: String
    private let preparation = Mutex<Task<Void, any Error>?>(nil)

    init(_ backend: Backend, master: MasterKey, instance: String) {
        self.backend = backend
        self.master = master
        self.instance = instance
    }

    /// `sqlite` or `postgres`, for `sidecar.ready`.
    var kind: String {
        switch backend {
        case .sqlite: "sqlite"
        case .postgres: "postgres"
        }
    }

    var store: any Store {
        switch backend {
        case .sqlite(let store): store
        case .postgres(let store): store
        }
    }

    /// The service to run beside the server, if the store has one.
    var service: (any Service)? {
        switch backend {
        case .sqlite: nil
        case .postgres(let store): store
        }
    }

    /// Returns once the schema is up to date; with PostgreSQL, `service` must be running.
    func prepare() async throws(StoreError) {
        let task = preparation.withLock { task in
            if let task { return task }
            let backend = self.backend
            let new = Task<Void, any Error> {
                switch backend {
                case .sqlite: break
                case .postgres(let store): try await store.migrate()
                }
            }
            task = new
            return new
        }
        do {
            try await task.value
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.unavailable, "\(error)")
        }
    }
}
