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
    /// The side port's state; nil where there is none (tests of the engine alone).
    package var sidePort: SidePortStatus.State?

    package init(
        status: Status, database: String, providers: [Channel: String], providerProblems: [Channel: String] = [:],
        sidePort: SidePortStatus.State? = nil
    ) {
        self.sidePort = sidePort
        self.status = status
        self.database = database
        self.providers = providers
        self.providerProblems = providerProblems
    }
}
