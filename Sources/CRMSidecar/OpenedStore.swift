import Logging
import Persistence
import ServiceLifecycle

/// The store the configuration names, and what it needs to run.
///
/// SQLite is ready as soon as it is opened. PostgreSQL needs its connection pool running (a
/// `Service` in the group) before it can migrate, so migration is a step of its own.
enum OpenedStore {
    case sqlite(SQLiteStore)
    case postgres(PostgresStore)

    var store: any Store {
        switch self {
        case .sqlite(let store): store
        case .postgres(let store): store
        }
    }

    /// The service to run beside the server, if the store has one.
    var service: (any Service)? {
        switch self {
        case .sqlite: nil
        case .postgres(let store): store
        }
    }

    /// Brings the schema up to date; with PostgreSQL, while `service` runs.
    func prepare() async throws(StoreError) {
        switch self {
        case .sqlite: break
        case .postgres(let store): try await store.migrate()
        }
    }
}
