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
    /// schemas/openrpc.json as built into the binary, for `rpc.discover`; parsed on the first
    /// call (it is a third of the work of starting up, and most sidecars are never asked).
    package var openRPC: JSONValue { Self.shippedOpenRPC }

    package init(engine: Engine, compliance: Compliance, analytics: Analytics, version: String, startedAt: Date) {
        self.engine = engine
        self.compliance = compliance
        self.analytics = analytics
        self.version = version
        self.startedAt = startedAt
    }

    /// Parsed once, when first asked for (a static `let` is lazy); a build whose schema does not
    /// parse fails its tests, not a caller.
    static let shippedOpenRPC: JSONValue =
        (try? JSONDecoder().decode(JSONValue.self, from: Data(PackageResources.openrpc_json))) ?? .object([:])
}
