/// A value being encoded or decoded (`WireEncoding`, `WireDecoding`) that knows its parent and its
/// key there, not a copy of its whole path: the path is built only when a type or an error asks
/// for it, and few do.
protocol CodingPathLink: AnyObject {
    var parent: Self? { get }
    var key: (any CodingKey)? { get }
}

extension CodingPathLink {
    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var node: Self? = self
        while let current = node {
            if let key = current.key { path.append(key) }
            node = current.parent
        }
        return path.reversed()
    }
}
