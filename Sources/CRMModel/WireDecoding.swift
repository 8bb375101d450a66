import Foundation

/// `WireDecoder`'s `Decoder`: one for each value decoded through `init(from:)` (a `CodingPathLink`).
final class WireDecoding: Decoder, CodingPathLink {
    let value: JSONValue
    let parent: WireDecoding?
    let key: (any CodingKey)?

    init(_ value: JSONValue, parent: WireDecoding? = nil, key: (any CodingKey)? = nil) {
        self.value = value
        self.parent = parent
        self.key = key
    }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch([String: JSONValue].self, expected: "Dictionary<String, Any>") }
        return KeyedDecodingContainer(Keyed(decoding: self, members: members))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let values) = value else { throw mismatch([JSONValue].self, expected: "Array<Any>") }
        return Unkeyed(decoding: self, values: values)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        Single(decoding: self)
    }

    func child(_ value: JSONValue, key: any CodingKey) -> WireDecoding {
        WireDecoding(value, parent: self, key: key)
    }

    /// This decoder's value as a `T`: the scalars and the types Foundation's decoder treats
    /// specially read directly (checking the type's identity first, so no dynamic casts are tried
    /// in vain), anything else through its `init(from:)`.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == String.self { return try string() as! T }
        if T.self == JSONValue.self { return value.wholeNumbersAsIntegers as! T }
        if T.self == Bool.self { return try bool() as! T }
        if T.self == Int.self { return try integer(Int.self) as! T }
        if T.self == Int64.self { return try integer(Int64.self) as! T }
        if T.self == Double.self { return try double() as! T }
        if T.self == UUID.self { return try uuid() as! T }
        if T.self == Date.self { return try date() as! T }
        if T.self == Data.self { return try data() as! T }
        if T.self == URL.self { return try url() as! T }
        return try T(from: self)
    }

    func string() throws -> String {
        guard case .string(let text) = value else { throw mismatch(String.self, expected: "String") }
        return text
    }

    func bool() throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(Bool.self, expected: "Bool") }
        return flag
    }

    func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        switch value {
        case .int(let number):
            if let exact = I(exactly: number) { return exact }
        case .double(let number):
            guard number.rounded() == number else { throw corrupted("must be a whole number") }
            if let exact = I(exactly: number) { return exact }
        default:
            throw mismatch(I.self, expected: "\(I.self)")
        }
        throw corrupted("must be a whole number from \(I.min) to \(I.max)")
    }

    func double() throws -> Double {
        switch value {
        case .int(let number): return Double(number)
        case .double(let number): return number
        default: throw mismatch(Double.self, expected: "Double")
        }
    }

    func float() throws -> Float {
        let number = try double()
        guard number.isInfinite || abs(number) <= Double(Float.greatestFiniteMagnitude) else {
            // Not the number itself: an error never repeats the rejected value.
            throw corrupted("must be a number within a 32-bit float's range")
        }
        return Float(number)
    }

    private func uuid() throws -> UUID {
        guard let id = UUID(hexString: try string()) else { throw corrupted("Attempted to decode UUID from invalid UUID string.") }
        return id
    }

    private func date() throws -> Date {
        guard let date = WireJSON.parseDate(try string()) else { throw corrupted("must be an RFC 3339 time such as 2026-05-01T09:00:00Z") }
        return date
    }

    private func data() throws -> Data {
        guard let data = Data(base64Encoded: try string()) else { throw corrupted("Encountered Data is not valid Base64.") }
        return data
    }

    private func url() throws -> URL {
        guard let url = URL(string: try string()) else { throw corrupted("Invalid URL string.") }
        return url
    }

    private func mismatch(_ type: Any.Type, expected: String) -> DecodingError {
        if case .null = value {
            return .valueNotFound(type, .init(codingPath: codingPath, debugDescription: "Expected \(expected) value but found null instead."))
        }
        return .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "Expected to decode \(expected) but found \(value.typeName) instead."))
    }

    private func corrupted(_ description: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath, debugDescription: description))
    }

    private struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoding: WireDecoding
        let members: [String: JSONValue]

        var codingPath: [any CodingKey] { decoding.codingPath }

        /// Sorted, so a type that rejects unknown keys names the same one every time.
        var allKeys: [Key] { members.keys.sorted().compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

        private func member(_ key: Key) throws -> WireDecoding {
            guard let value = members[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue)."))
            }
            return decoding.child(value, key: key)
        }

        func decodeNil(forKey key: Key) throws -> Bool {
            if case .null = try member(key).value { return true }
            return false
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try member(key).bool() }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try member(key).string() }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try member(key).double() }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try member(key).float() }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try member(key).integer(type) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try member(key).integer(type) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try member(key).integer(type) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try member(key).integer(type) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try member(key).integer(type) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try member(key).integer(type) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try member(key).integer(type) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try member(key).integer(type) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try member(key).integer(type) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try member(key).integer(type) }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try member(key).decodeValue(type) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try member(key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try member(key).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder {
            decoding.child(members["super"] ?? .null, key: AnyCodingKey(stringValue: "super"))
        }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            decoding.child(members[key.stringValue] ?? .null, key: key)
        }
    }

    private struct Unkeyed: UnkeyedDecodingContainer {
        let decoding: WireDecoding
        let values: [JSONValue]
        private(set) var currentIndex = 0

        init(decoding: WireDecoding, values: [JSONValue]) {
            self.decoding = decoding
            self.values = values
        }

        var codingPath: [any CodingKey] { decoding.codingPath }
        var count: Int? { values.count }
        var isAtEnd: Bool { currentIndex >= values.count }

        /// The next element, and the index moved past it once it has been read without error.
        private mutating func next<T>(_ type: T.Type, _ read: (WireDecoding) throws -> T) throws -> T {
            let key = AnyCodingKey(intValue: currentIndex)!
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [key], debugDescription: "Unkeyed container is at end."))
            }
            let value = try read(decoding.child(values[currentIndex], key: key))
            currentIndex += 1
            return value
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(
                    JSONValue.self, .init(codingPath: codingPath + [AnyCodingKey(intValue: currentIndex)!], debugDescription: "Unkeyed container is at end.")
                )
            }
            guard case .null = values[currentIndex] else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) { try $0.bool() } }
        mutating func decode(_ type: String.Type) throws -> String { try next(type) { try $0.string() } }
        mutating func decode(_ type: Double.Type) throws -> Double { try next(type) { try $0.double() } }
        mutating func decode(_ type: Float.Type) throws -> Float { try next(type) { try $0.float() } }
        mutating func decode(_ type: Int.Type) throws -> Int { try next(type) { try $0.integer(type) } }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) { try $0.integer(type) } }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) { try $0.integer(type) } }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) { try $0.integer(type) } }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) { try $0.integer(type) } }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) { try $0.integer(type) } }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) { try $0.integer(type) } }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) { try $0.integer(type) } }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) { try $0.integer(type) } }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) { try $0.integer(type) } }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type) { try $0.decodeValue(type) } }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next(KeyedDecodingContainer<NestedKey>.self) { try $0.container(keyedBy: type) }
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try next((any UnkeyedDecodingContainer).self) { try $0.unkeyedContainer() }
        }

        mutating func superDecoder() throws -> any Decoder {
            try next((any Decoder).self) { $0 }
        }
    }

    private struct Single: SingleValueDecodingContainer {
        let decoding: WireDecoding

        var codingPath: [any CodingKey] { decoding.codingPath }

        func decodeNil() -> Bool {
            if case .null = decoding.value { return true }
            return false
        }

        func decode(_ type: Bool.Type) throws -> Bool { try decoding.bool() }
        func decode(_ type: String.Type) throws -> String { try decoding.string() }
        func decode(_ type: Double.Type) throws -> Double { try decoding.double() }
        func decode(_ type: Float.Type) throws -> Float { try decoding.float() }
        func decode(_ type: Int.Type) throws -> Int { try decoding.integer(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try decoding.integer(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try decoding.integer(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try decoding.integer(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try decoding.integer(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try decoding.integer(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try decoding.integer(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try decoding.integer(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try decoding.integer(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try decoding.integer(type) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoding.decodeValue(type) }
    }
}
