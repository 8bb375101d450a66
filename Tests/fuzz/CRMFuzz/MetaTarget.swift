import Channels
import Foundation

/// Meta's webhook notifications: any body is read or refused without a crash, and only a body
/// signed with the app secret verifies.
enum MetaTarget {
    static let signature = WhatsAppSignature(appSecret: "fuzz-app-secret")

    static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let header = input.string()
        let body = Data(input.bytes())
        require(!signature.isValid(header: header, body: body), "a signature from the input verified")
        require(signature.isValid(header: signature.sign(body), body: body), "a body signed with the app secret did not verify")
        if let notification = BoundedJSON.decode(WhatsAppNotification.self, from: body) {
            _ = notification.events(receivedAt: Date())
        }
    }
}
