extension JSONValue {
    /// The value with every double that is a whole number within `Int64` made an integer, as
    /// Foundation's decoder read such numbers (`2.0` as 2, `-0.0` as 0): the values `WireDecoder`
    /// hands over are the ones requests used to get. Returned as it is when it holds no double, which
    /// is the common case, so nothing is copied.
    var wholeNumbersAsIntegers: JSONValue {
        guard hasWholeDouble else { return self }
        switch self {
        case .double(let number): return Int64(exactly: number).map(JSONValue.int) ?? self
        case .array(let elements): return .array(elements.map(\.wholeNumbersAsIntegers))
        case .object(let members): return .object(members.mapValues(\.wholeNumbersAsIntegers))
        case .null, .bool, .int, .string: return self
        }
    }

    private var hasWholeDouble: Bool {
        switch self {
        case .double(let number): Int64(exactly: number) != nil
        case .array(let elements): elements.contains { $0.hasWholeDouble }
        case .object(let members): members.values.contains { $0.hasWholeDouble }
        case .null, .bool, .int, .string: false
        }
    }
}
