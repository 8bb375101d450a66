package import Foundation
package import Orchestrator
package import CRMModel

/// What a method may use while it runs.
package struct MethodContext: Sendable {
    package var engine: Engine
    package var compliance: Compliance
    package var analytics: Analytics
    package var version: String
    package var startedAt: Date
    /// schemas/openrpc.json as built into the binary, for `rpc.discover`.
    package var openRPC: JSONValue

    package init(engine: Engine, compliance: Compliance, analytics: Analytics, version: String, startedAt: Date) {
        self.engine = engine
        self.compliance = compliance
        self.analytics = analytics
        self.version = version
        self.startedAt = startedAt
        self.openRPC = Self.shippedOpenRPC
    }

    /// Parsed once; a build whose schema does not parse fails its tests, not a caller.
    static let shippedOpenRPC: JSONValue =
        (try? JSONDecoder().decode(JSONValue.self, from: Data(PackageResources.openrpc_json))) ?? .object([:])
}
