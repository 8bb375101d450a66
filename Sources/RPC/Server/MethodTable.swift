package import CRMModel

/// Every method by name, built once at start-up and not changed after.
package struct MethodTable: Sendable {
    // Untyped `throws` here: Swift 6.3's SILGen crashes on a typed-throws closure type in a generic
    // context. Every handler throws only RPCError; `call` restores the type.
    package typealias Handler = @Sendable (JSONValue?, MethodContext) async throws -> any Encodable & Sendable

    private var handlers: [String: Handler] = [:]

    package init() {}

    package mutating func register<Method: RPCMethod>(_ method: Method.Type) {
        handlers[Method.name] = { params, context in
            let decoded = try ParamsDecoder.decode(Method.Params.self, from: params, method: Method.name)
            return try await Method.handle(decoded, context: context)
        }
    }

    package var names: [String] { handlers.keys.sorted() }

    package func call(_ request: RPCRequest, context: MethodContext) async throws(RPCError) -> any Encodable & Sendable {
        if let handler = handlers[request.method] {
            do {
                return try await handler(request.params, context)
            } catch let error as RPCError {
                throw error
            } catch {
                throw .internalError
            }
        }
        throw .methodNotFound(request.method, known: names)
    }

    /// The sidecar's methods.
    package static let standard: MethodTable = {
        var table = MethodTable()
        table.register(Health.self)
        table.register(Discover.self)
        table.register(Communicate.self)
        table.register(CommunicationsGet.self)
        table.register(CommunicationsList.self)
        table.register(CommunicationsCancel.self)
        table.register(TemplatesPreview.self)
        table.register(PreferencesGet.self)
        table.register(PreferencesUpdate.self)
        table.register(EventsList.self)
        table.register(ClientsExport.self)
        table.register(ClientsForget.self)
        table.register(AuditList.self)
        table.register(AnalyticsGet.self)
        table.register(AnalyticsExport.self)
        return table
    }()
}
