/// A storage failure, described without personal data.
package struct StoreError: Error, Sendable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case unavailable
            case incompatibleSchema
            case corruptRecord
            case wrongKey
        }

        private let base: Base

        /// The database cannot be reached, is locked, or refused the operation; retry later.
        package static let unavailable = Code(base: .unavailable)
        /// The database was written by a newer version of the sidecar.
        package static let incompatibleSchema = Code(base: .incompatibleSchema)
        /// A stored row could not be read back.
        package static let corruptRecord = Code(base: .corruptRecord)
        /// The database was written under another DB_ENCRYPTION_KEY.
        package static let wrongKey = Code(base: .wrongKey)

        package var description: String {
            switch base {
            case .unavailable: "unavailable"
            case .incompatibleSchema: "incompatible_schema"
            case .corruptRecord: "corrupt_record"
            case .wrongKey: "wrong_key"
            }
        }
    }

    package var code: Code
    /// What failed, for operators; safe to log and to return.
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code): \(message)" }
}
