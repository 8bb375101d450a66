import Foundation

/// `WireEncoder`'s `Encoder`: the value being encoded collects into `tree`. A value that encodes
/// itself through `encode(to:)` gets one of its own (a `CodingPathLink`).
final class WireEncoding: Encoder, CodingPathLink {
    private(set) var tree: WireTree?
    let parent: WireEncoding?
    let key: (any CodingKey)?

    init(parent: WireEncoding? = nil, key: (any CodingKey)? = nil) {
        self.parent = parent
        self.key = key
    }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        // Asked twice (a subclass and its superclass), both write into the same object.
        if case .object(let object) = tree { return KeyedEncodingContainer(Keyed(encoding: self, object: object)) }
        let object = WireTree.Object()
        tree = .object(object)
        return KeyedEncodingContainer(Keyed(encoding: self, object: object))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array(let array) = tree { return Unkeyed(encoding: self, array: array) }
        let array = WireTree.Array()
        tree = .array(array)
        return Unkeyed(encoding: self, array: array)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        Single(encoding: self)
    }

    /// `value` as a tree, encoded under `key` of this encoder's value. The types Foundation's
    /// encoder treats specially are written as it writes them (with the wire's dates); checking the
    /// type's identity first keeps the common case free of dynamic casts.
    func box<T: Encodable>(_ value: T, key: any CodingKey) throws -> WireTree {
        if let special = try Self.special(value, at: { self.codingPath + [key] }) { return special }
        let child = WireEncoding(parent: self, key: key)
        try value.encode(to: child)
        return child.tree ?? .object(WireTree.Object())
    }

    /// Sets this encoder's value to `value`, for a single value container or the top level.
    func encodeValue<T: Encodable>(_ value: T) throws {
        if let special = try Self.special(value, at: { self.codingPath }) {
            tree = special
            return
        }
        try value.encode(to: self)
    }

    fileprivate func set(_ value: WireTree) {
        tree = value
    }

    private static func special<T: Encodable>(_ value: T, at path: () -> [any CodingKey]) throws -> WireTree? {
        if T.self == String.self { return .string(value as! String) }
        if T.self == Int.self { return .int(Int64(value as! Int)) }
        if T.self == Bool.self { return .bool(value as! Bool) }
        if T.self == Double.self { return try double(value as! Double, at: path) }
        if T.self == Int64.self { return .int(value as! Int64) }
        if T.self == JSONValue.self { return try tree(of: value as! JSONValue, at: path) }
        if T.self == Date.self { return .string(WireJSON.format(value as! Date)) }
        if T.self == Data.self { return .string((value as! Data).base64EncodedString()) }
        if T.self == URL.self { return .string((value as! URL).absoluteString) }
        if T.self == Decimal.self { return .number((value as! Decimal).description) }
        return nil
    }

    /// A caller's `context` and other values kept as JSON: converted directly, not one container at a time.
    private static func tree(of value: JSONValue, at path: () -> [any CodingKey]) throws -> WireTree {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .double(let number): return try double(number, at: path)
        case .string(let text): return .string(text)
        case .array(let elements):
            let array = WireTree.Array()
            array.values.reserveCapacity(elements.count)
            for element in elements { array.values.append(try tree(of: element, at: path)) }
            return .array(array)
        case .object(let members):
            let object = WireTree.Object()
            object.keys.reserveCapacity(members.count)
            object.values.reserveCapacity(members.count)
            for (key, member) in members { object.set(key, try tree(of: member, at: path)) }
            return .object(object)
        }
    }

    fileprivate static func double(_ value: Double, at path: () -> [any CodingKey]) throws -> WireTree {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(), debugDescription: "Unable to encode Double.\(value) directly in JSON."))
        }
        return .double(value)
    }

    fileprivate static func float(_ value: Float, at path: () -> [any CodingKey]) throws -> WireTree {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(), debugDescription: "Unable to encode Float.\(value) directly in JSON."))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .number(text)
    }

    private struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoding: WireEncoding
        let object: WireTree.Object

        var codingPath: [any CodingKey] { encoding.codingPath }

        mutating func encodeNil(forKey key: Key) { object.set(key.stringValue, .null) }
        mutating func encode(_ value: Bool, forKey key: Key) { object.set(key.stringValue, .bool(value)) }
        mutating func encode(_ value: String, forKey key: Key) { object.set(key.stringValue, .string(value)) }
        mutating func encode(_ value: Double, forKey key: Key) throws {
            object.set(key.stringValue, try WireEncoding.double(value) { codingPath + [key] })
        }
        mutating func encode(_ value: Float, forKey key: Key) throws {
            object.set(key.stringValue, try WireEncoding.float(value) { codingPath + [key] })
        }
        mutating func encode(_ value: Int, forKey key: Key) { object.set(key.stringValue, .int(Int64(value))) }
        mutating func encode(_ value: Int8, forKey key: Key) { object.set(key.stringValue, .int(Int64(value))) }
        mutating func encode(_ value: Int16, forKey key: Key) { object.set(key.stringValue, .int(Int64(value))) }
        mutating func encode(_ value: Int32, forKey key: Key) { object.set(key.stringValue, .int(Int64(value))) }
        mutating func encode(_ value: Int64, forKey key: Key) { object.set(key.stringValue, .int(value)) }
        mutating func encode(_ value: UInt, forKey key: Key) { object.set(key.stringValue, .unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt8, forKey key: Key) { object.set(key.stringValue, .unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt16, forKey key: Key) { object.set(key.stringValue, .unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt32, forKey key: Key) { object.set(key.stringValue, .unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt64, forKey key: Key) { object.set(key.stringValue, .unsigned(value)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            object.set(key.stringValue, try encoding.box(value, key: key))
        }

        /// Asked again under the same key, the container writes into the same object, as Foundation's does.
        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            let nested: WireTree.Object
            if case .object(let existing) = object.last(key.stringValue) {
                nested = existing
            } else {
                nested = WireTree.Object()
                object.set(key.stringValue, .object(nested))
            }
            return KeyedEncodingContainer(Keyed<NestedKey>(encoding: WireEncoding(parent: encoding, key: key), object: nested))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let nested: WireTree.Array
            if case .array(let existing) = object.last(key.stringValue) {
                nested = existing
            } else {
                nested = WireTree.Array()
                object.set(key.stringValue, .array(nested))
            }
            return Unkeyed(encoding: WireEncoding(parent: encoding, key: key), array: nested)
        }

        mutating func superEncoder() -> any Encoder {
            superEncoder(named: AnyCodingKey(stringValue: "super"))
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            superEncoder(named: key)
        }

        private func superEncoder(named key: any CodingKey) -> any Encoder {
            let child = WireEncoding(parent: encoding, key: key)
            object.set(key.stringValue, .deferred(child))
            return child
        }
    }

    private struct Unkeyed: UnkeyedEncodingContainer {
        let encoding: WireEncoding
        let array: WireTree.Array

        var codingPath: [any CodingKey] { encoding.codingPath }
        var count: Int { array.values.count }

        private var nextKey: any CodingKey { AnyCodingKey(intValue: count)! }

        mutating func encodeNil() { array.values.append(.null) }
        mutating func encode(_ value: Bool) { array.values.append(.bool(value)) }
        mutating func encode(_ value: String) { array.values.append(.string(value)) }
        mutating func encode(_ value: Double) throws {
            array.values.append(try WireEncoding.double(value) { codingPath + [nextKey] })
        }
        mutating func encode(_ value: Float) throws {
            array.values.append(try WireEncoding.float(value) { codingPath + [nextKey] })
        }
        mutating func encode(_ value: Int) { array.values.append(.int(Int64(value))) }
        mutating func encode(_ value: Int8) { array.values.append(.int(Int64(value))) }
        mutating func encode(_ value: Int16) { array.values.append(.int(Int64(value))) }
        mutating func encode(_ value: Int32) { array.values.append(.int(Int64(value))) }
        mutating func encode(_ value: Int64) { array.values.append(.int(value)) }
        mutating func encode(_ value: UInt) { array.values.append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt8) { array.values.append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt16) { array.values.append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt32) { array.values.append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt64) { array.values.append(.unsigned(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            array.values.append(try encoding.box(value, key: nextKey))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let nested = WireTree.Object()
            let key = nextKey
            array.values.append(.object(nested))
            return KeyedEncodingContainer(Keyed<NestedKey>(encoding: WireEncoding(parent: encoding, key: key), object: nested))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let nested = WireTree.Array()
            let key = nextKey
            array.values.append(.array(nested))
            return Unkeyed(encoding: WireEncoding(parent: encoding, key: key), array: nested)
        }

        mutating func superEncoder() -> any Encoder {
            let child = WireEncoding(parent: encoding, key: nextKey)
            array.values.append(.deferred(child))
            return child
        }
    }

    private struct Single: SingleValueEncodingContainer {
        let encoding: WireEncoding

        var codingPath: [any CodingKey] { encoding.codingPath }

        mutating func encodeNil() { encoding.set(.null) }
        mutating func encode(_ value: Bool) { encoding.set(.bool(value)) }
        mutating func encode(_ value: String) { encoding.set(.string(value)) }
        mutating func encode(_ value: Double) throws { encoding.set(try WireEncoding.double(value) { codingPath }) }
        mutating func encode(_ value: Float) throws { encoding.set(try WireEncoding.float(value) { codingPath }) }
        mutating func encode(_ value: Int) { encoding.set(.int(Int64(value))) }
        mutating func encode(_ value: Int8) { encoding.set(.int(Int64(value))) }
        mutating func encode(_ value: Int16) { encoding.set(.int(Int64(value))) }
        mutating func encode(_ value: Int32) { encoding.set(.int(Int64(value))) }
        mutating func encode(_ value: Int64) { encoding.set(.int(value)) }
        mutating func encode(_ value: UInt) { encoding.set(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt8) { encoding.set(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt16) { encoding.set(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt32) { encoding.set(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt64) { encoding.set(.unsigned(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { try encoding.encodeValue(value) }
    }
}
