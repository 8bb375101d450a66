import CRMModel
import Foundation

/// An email attachment as the values of its `attachments` row: its name and bytes sealed under the
/// client's key (a file name can be as personal as its content), its type plain.
struct AttachmentColumns: Sendable {
    var position: Int
    var filename: Data
    var contentType: String
    var data: Data

    init(position: Int, filename: Data, contentType: String, data: Data) {
        self.position = position
        self.filename = filename
        self.contentType = contentType
        self.data = data
    }

    static func rows(_ attachments: [Attachment], communicationID: String, key: ClientKey) throws(StoreError) -> [AttachmentColumns] {
        var rows: [AttachmentColumns] = []
        for (position, attachment) in attachments.enumerated() {
            let row = "\(communicationID)/\(position)"
            rows.append(AttachmentColumns(
                position: position,
                filename: try key.seal(Data(attachment.filename.utf8), "attachments.filename", row: row),
                contentType: attachment.contentType,
                data: try key.seal(attachment.data, "attachments.data", row: row)
            ))
        }
        return rows
    }

    /// The attachment; nil once the client's key is shredded.
    func attachment(communicationID: String, key: ClientKey?) throws(StoreError) -> Attachment? {
        guard let key else { return nil }
        let row = "\(communicationID)/\(position)"
        let name = String(decoding: try key.open(filename, "attachments.filename", row: row), as: UTF8.self)
        let bytes = try key.open(data, "attachments.data", row: row)
        do throws(FieldError) {
            return try Attachment(filename: name, contentType: contentType, data: bytes)
        } catch {
            throw StoreError(.corruptRecord, "attachment \(position) of communication \(communicationID) is no longer valid: \(error.reason)")
        }
    }

    /// What an export says of an attachment: its name opened, its size, not its bytes. nil without
    /// the client's key. The size is the sealed size less what sealing adds.
    static func metadata(
        communicationID: String, position: Int, filename: Data, contentType: String, sealedBytes: Int, key: ClientKey?
    ) throws(StoreError) -> ClientExport.AttachmentMetadata? {
        guard let key, let id = UUID(hexString: communicationID) else { return nil }
        let name = try key.open(filename, "attachments.filename", row: "\(communicationID)/\(position)")
        return ClientExport.AttachmentMetadata(
            communicationID: id, filename: String(decoding: name, as: UTF8.self), contentType: contentType, bytes: max(0, sealedBytes - FieldCipher.overhead)
        )
    }
}
