import CRMModel
import Foundation
import Orchestrator

/// `health`: whether the sidecar and its parts work, and which provider serves each channel.
package enum Health: RPCMethod {
    package static let name = "health"
    package typealias Params = NoParams

    package struct Result: Encodable, Sendable {
        var status: String
        var version: String
        var uptimeSeconds: Double
        var components: [String: Component]

        enum CodingKeys: String, CodingKey {
            case status, version, components
            case uptimeSeconds = "uptime_seconds"
        }
    }

    package struct Component: Encodable, Sendable {
        var status: String
        var provider: String?
        var address: String?
        var detail: String?
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        let report = await context.engine.health()
        var components: [String: Component] = [
            "database": Component(status: report.database == "ok" ? "ok" : "down", detail: report.database == "ok" ? nil : report.database)
        ]
        for channel in Channel.allCases {
            let provider = report.providers[channel]
            let problem = report.providerProblems[channel]
            components[channel.rawValue] = Component(
                status: provider == nil || problem != nil ? "down" : "ok", provider: provider ?? "none", detail: problem
            )
        }
        switch report.sidePort {
        case .listening(let address): components["webhooks"] = Component(status: "ok", address: address)
        case .starting: components["webhooks"] = Component(status: "starting")
        case .failed(let reason): components["webhooks"] = Component(status: "down", detail: reason)
        case nil: break
        }
        return Result(
            status: report.status.rawValue,
            version: context.version,
            uptimeSeconds: (Date().timeIntervalSince(context.startedAt) * 1000).rounded() / 1000,
            components: components
        )
    }
}
