package import CRMModel

/// `rpc.discover`: the OpenRPC document of this sidecar, schemas/openrpc.json as it was built in.
package enum Discover: RPCMethod {
    package static let name = "rpc.discover"
    package typealias Params = NoParams

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> JSONValue {
        context.openRPC
    }
}
