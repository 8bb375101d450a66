/// What a key rotation re-wrote: client keys re-wrapped under the new master key, and contacts
/// re-indexed under its blind-index key.
package struct KeyRotation: Sendable, Equatable, Encodable {
    package var clientKeys = 0
    package var contacts = 0

    package init() {}

    enum CodingKeys: String, CodingKey {
        case clientKeys = "client_keys"
        case contacts
    }
}
