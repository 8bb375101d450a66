package import CRMModel

/// How the sidecar's parts are doing, for `health`.
package struct HealthReport: Sendable, Equatable {
    package enum Status: String, Sendable {
        case ok
        case degraded
    }

    package var status: Status
    /// `ok`, or why the database is not.
    package var database: String
    /// The provider name for each channel.
    package var providers: [Channel: String]
    /// Why a channel's provider is unhealthy, for those that are.
    package var providerProblems: [Channel: String]

    package init(status: Status, database: String, providers: [Channel: String], providerProblems: [Channel: String] = [:]) {
        self.status = status
        self.database = database
        self.providers = providers
        self.providerProblems = providerProblems
    }
}
