import Foundation
package import PostgresNIO
import NIOSSL

/// Where the PostgreSQL server is, read from a `postgres://` or `postgresql://` URL:
/// `postgres://user:password@host:5432/database?sslmode=disable|prefer|require`.
package struct PostgresConfiguration: Sendable {
    package var client: PostgresClient.Configuration
    /// host:port/database, without credentials, for logs and `health`.
    package var safeDescription: String

    /// nil with a reason when the URL cannot be used; the reason never repeats the password.
    package init(url: String) throws(StoreError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw StoreError(.unavailable, "DATABASE_URL is not a postgres:// URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError(.unavailable, "DATABASE_URL has no host")
        }
        guard let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else {
            throw StoreError(.unavailable, "DATABASE_URL has no user name")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        // TLS 1.2 at least, as for every other connection the sidecar makes.
        var secure = TLSConfiguration.makeClientConfiguration()
        secure.minimumTLSVersion = .tlsv12
        switch mode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(secure)
        case "require", "verify-ca", "verify-full": tls = .require(secure)
        default: throw StoreError(.unavailable, "DATABASE_URL has sslmode=\(mode); use disable, prefer or require")
        }
        let port = components.port ?? 5432
        client = PostgresClient.Configuration(
            host: host, port: port, username: user,
            password: components.percentEncodedPassword?.removingPercentEncoding,
            database: database.isEmpty ? nil : database, tls: tls
        )
        // Fail fast while the server is down instead of queueing work behind a dead connection.
        client.options.connectTimeout = .seconds(3)
        safeDescription = "\(host):\(port)/\(database)"
    }
}
