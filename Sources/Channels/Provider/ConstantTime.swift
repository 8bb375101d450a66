package import Foundation

/// Comparison of secrets whose time does not depend on where they differ, so a forger learns nothing
/// from how fast a wrong signature or token is refused.
package enum ConstantTime {
    package static func equal(_ left: Data, _ right: Data) -> Bool {
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
