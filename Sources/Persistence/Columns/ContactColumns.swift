import CRMModel
import Foundation

/// A client's address on one channel as the values of its `client_contacts` row: findable by its
/// blind index, readable only with the client's key.
struct ContactColumns: Sendable {
    var clientID: String
    var channel: String
    var addressIndex: Data
    var address: Data
    var updatedAt: Int64

    /// How old `updated_at` gets before a send refreshes it: refreshing it on every send would have
    /// concurrent sends to one client queue for its row.
    static let refreshMilliseconds: Int64 = 60_000

    /// The rows for every address `recipient` has.
    static func rows(clientID: String, recipient: Recipient, key: ClientKey, at: Int64) throws(StoreError) -> [ContactColumns] {
        var rows: [ContactColumns] = []
        for channel in Channel.allCases {
            guard let address = recipient.address(for: channel) else { continue }
            rows.append(ContactColumns(
                clientID: clientID,
                channel: channel.rawValue,
                addressIndex: key.cipher.blindIndex(address),
                address: try key.seal(Data(address.utf8), "client_contacts.address", row: "\(clientID):\(channel.rawValue)"),
                updatedAt: at
            ))
        }
        return rows
    }

    /// A stored address, opened; nil without the client's key.
    static func contact(clientID: String, channel: String, address: Data, updatedAt: Int64, key: ClientKey?) throws(StoreError) -> ClientExport.Contact? {
        guard let key, let channelValue = Channel(rawValue: channel) else { return nil }
        let opened = try key.open(address, "client_contacts.address", row: "\(clientID):\(channel)")
        return ClientExport.Contact(
            channel: channelValue, address: String(decoding: opened, as: UTF8.self), updatedAt: Date(millisecondsSince1970: updatedAt)
        )
    }

    /// `row` indexed under the current blind-index key, when it is not already; nil when it is, or
    /// when it cannot be read (its client's key is gone: the row is erased and left alone).
    static func reindexed(row: ContactColumns, key: ClientKey?) throws(StoreError) -> ContactColumns? {
        guard let key else { return nil }
        let address = String(decoding: try key.open(row.address, "client_contacts.address", row: "\(row.clientID):\(row.channel)"), as: UTF8.self)
        let index = key.cipher.blindIndex(address)
        guard index != row.addressIndex else { return nil }
        var reindexed = row
        reindexed.addressIndex = index
        return reindexed
    }
}
