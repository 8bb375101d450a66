import Synchronization

/// Providers that refused our credentials. An auth failure does not heal by retrying: the provider
/// is left alone (its channel falls back) until an operator fixes the credentials and restarts.
package final class ProviderHealth: Sendable {
    private let unhealthy = Mutex<[String: String]>([:])

    package init() {}

    package func markUnhealthy(_ provider: String, reason: String) {
        unhealthy.withLock { $0[provider] = reason }
    }

    /// Why the provider is unhealthy, or nil when it is not.
    package func problem(of provider: String) -> String? {
        unhealthy.withLock { $0[provider] }
    }
}
