import CRMModel
import Foundation

/// An accepted communication's rows that are sealed under its client's key: the communication,
/// its attachments and the client's contacts.
struct AcceptedRows: Sendable {
    let communication: CommunicationColumns
    let attachments: [AttachmentColumns]
    let contacts: [ContactColumns]
    /// The wrapped form of the key they are sealed under, for the write to check it is still the
    /// client's stored key.
    let wrapped: Data

    init(_ communication: Communication, attachments: [Attachment], key: ClientKey, wrapped: Data, encoder: WireEncoder) throws(StoreError) {
        let row = try CommunicationColumns(communication, encoder: encoder, key: key)
        self.communication = row
        self.attachments = try AttachmentColumns.rows(attachments, communicationID: row.id, key: key)
        self.contacts = try ContactColumns.rows(clientID: row.clientID, recipient: communication.recipient, key: key, at: row.createdAt)
        self.wrapped = wrapped
    }
}
