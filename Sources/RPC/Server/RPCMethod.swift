/// A JSON-RPC method: its name, its params and result types, and what it does.
///
/// Each method is a caseless enum in its own file under `Methods/`; its `Params` and `Result` are the
/// wire types `schemas/openrpc.json` describes.
package protocol RPCMethod: SendableMetatype {
    associatedtype Params: RPCParams
    associatedtype Result: Encodable & Sendable

    static var name: String { get }

    static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result
}

/// The named params of a method. Every key a caller may send is a case of `CodingKeys`, so a key that
/// is not one (a typo, most often) is refused by name instead of being silently ignored.
package protocol RPCParams: Decodable, Sendable {
    associatedtype CodingKeys: CodingKey, CaseIterable, RawRepresentable where CodingKeys.RawValue == String
}

extension RPCParams {
    static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }
}

/// The params of a method that takes none: any key is refused.
package struct NoParams: RPCParams {
    package enum CodingKeys: CodingKey, CaseIterable, RawRepresentable {
        package init?(rawValue: String) { nil }
        package init?(stringValue: String) { nil }
        package init?(intValue: Int) { nil }
        package var rawValue: String { switch self {} }
        package var stringValue: String { switch self {} }
        package var intValue: Int? { switch self {} }
    }

    package init(from decoder: any Decoder) throws {}
}
