import CRMModel
import Foundation

extension UUID {
    /// How ids are kept in every table: the lowercase canonical form.
    var key: String { canonicalString }
}
