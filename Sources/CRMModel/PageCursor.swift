import Foundation

/// A position in a newest-first listing: the creation time and id of the last row seen.
///
/// Keyset pagination, so a page is as cheap on the thousandth page as on the first and rows written
/// meanwhile neither repeat nor go missing. On the wire it is an opaque string.
public struct PageCursor: Sendable, Equatable {
    public var createdAtMilliseconds: Int64
    public var id: String

    public init(createdAtMilliseconds: Int64, id: String) {
        self.createdAtMilliseconds = createdAtMilliseconds
        self.id = id
    }

    public var token: String {
        Data("\(createdAtMilliseconds)/\(id)".utf8).base64EncodedString()
    }

    /// nil when the token was not made by `token`.
    public init?(token: String) {
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let millis = Int64(parts[0]), UUID(hexString: String(parts[1])) != nil else { return nil }
        self.init(createdAtMilliseconds: millis, id: String(parts[1]))
    }
}
