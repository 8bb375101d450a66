import Channels
import Crypto
import Foundation

/// The side port's signed links: a token made for a communication, purpose and target verifies as
/// that communication and nothing else; a token from the input (a forgery) never verifies; a click
/// link's target survives the trip through the URL and the side port's query reading.
enum LinkTokenTarget {
    static let links = EmailLinks(baseURL: "https://side.example", key: SymmetricKey(data: Data(repeating: 7, count: 32)))
    static let purposes: [EmailLinks.Purpose] = [.open, .click, .unsubscribe, .attachment]

    static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let purpose = purposes[Int(input.byte()) % purposes.count]
        let forged = input.string()
        let target = input.string()
        for other in purposes {
            require(links.verify(forged, other, target: target) == nil, "a token from the input verified: \(forged)")
        }
        let position = input.string()
        let expires = input.string()
        require(
            links.verifyAttachment(token: forged, position: position, expires: expires, at: Date(timeIntervalSince1970: 0)) == nil,
            "an attachment token from the input verified"
        )

        var raw = input.bytes()
        raw += [UInt8](repeating: 0, count: max(0, 16 - raw.count))
        let id = UUID(uuid: (raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7], raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]))
        let token = links.token(purpose, for: id, target: target)
        require(links.verify(token, purpose, target: target) == id, "a token does not verify as its communication")
        for other in purposes where other != purpose {
            require(links.verify(token, other, target: target) == nil, "a \(purpose) token verified as \(other)")
        }
        require(links.verify(token, purpose, target: target + "x") == nil, "a token verified for another target")

        let url = links.clickURL(for: id, target: target)
        require(url.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "a click link is not plain ASCII: \(url)")
        let path = String(url.dropFirst(links.baseURL.count))
        let read = URLComponents(string: "http://side.port" + path)?.queryItems?.first { $0.name == "u" }?.value ?? ""
        require(read == target, "a click link's target reads back as \(read.debugDescription), not \(target.debugDescription)")
        let clickToken = path.dropFirst("/email/click/".count).prefix { $0 != "?" }
        require(links.verify(String(clickToken), .click, target: read) == id, "a click link does not verify")

        let attachment = links.attachmentURL(for: id, position: Int(raw[0]), filename: target, expiresAt: Date(timeIntervalSince1970: 2_000_000_000))
        let parts = attachment.dropFirst(links.baseURL.count).split(separator: "/").map(String.init)
        require(parts.count == 5 && parts[0] == "attachments", "an attachment link's path is \(parts)")
        let verified = links.verifyAttachment(token: parts[1], position: parts[2], expires: parts[3], at: Date(timeIntervalSince1970: 1_000_000_000))
        require(verified?.id == id && verified?.position == Int(raw[0]), "an attachment link does not verify")
        require(links.verifyAttachment(token: parts[1], position: parts[2], expires: parts[3], at: Date(timeIntervalSince1970: 2_000_000_001)) == nil, "an expired attachment link verified")
    }
}
