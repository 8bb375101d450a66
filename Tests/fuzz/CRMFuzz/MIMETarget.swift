import Channels
import CRMModel
import Foundation

/// An email built from hostile names, subject, file name and bodies: either refused for a line
/// break in a header, or 7-bit, CRLF throughout, no line over RFC 5322's 998 bytes, exactly the
/// headers we write (nothing injected), and a Subject that reads back as the one given.
enum MIMETarget {
    static let headerNames: Set<String> = [
        "From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "X-CRM-Communication-ID", "List-Unsubscribe",
        "List-Unsubscribe-Post", "Content-Type", "Content-Transfer-Encoding",
    ]

    static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let flags = input.byte()
        let senderName = input.string()
        let toName = input.string()
        let subject = input.string()
        let html = input.string()
        let text = input.string()
        let filename = input.string()
        let types = Attachment.allowedTypes.keys.sorted()
        let type = types[Int(flags >> 4) % types.count]
        let attachments = (try? Attachment(filename: filename, contentType: type, data: Data(input.bytes()))).map { [$0] } ?? []
        let message = MIMEMessage(
            from: EmailSender(address: "planner@example.com", name: senderName.isEmpty ? nil : senderName), to: "priya@example.com",
            toName: toName.isEmpty ? nil : toName, communicationID: UUID(),
            content: RenderedMessage(subject: subject, html: flags & 1 == 0 ? html : nil, text: text), attachments: attachments,
            unsubscribeURL: flags & 2 == 0 ? nil : "https://side.example/email/unsubscribe/abc"
        )
        let bytes: [UInt8]
        do {
            bytes = try message.serialized()
        } catch {
            let values = [senderName, toName, subject] + attachments.map(\.filename)
            require(values.contains { $0.unicodeScalars.contains { $0 == "\r" || $0 == "\n" } }, "refused without a line break: \(error)")
            return
        }
        require(bytes.allSatisfy { $0 < 0x80 }, "the message is not 7-bit")
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "\n") { require(index > 0 && bytes[index - 1] == UInt8(ascii: "\r"), "a bare LF at \(index)") }
            if byte == UInt8(ascii: "\r") { require(index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\n"), "a bare CR at \(index)") }
        }
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        for line in lines { require(line.utf8.count <= 998, "a line of \(line.utf8.count) bytes") }

        // The header section, unfolded: each name once, each one of ours.
        var headers: [(name: String, value: String)] = []
        for line in lines.prefix(while: { !$0.isEmpty }) {
            if line.first == " " || line.first == "\t" {
                require(!headers.isEmpty, "the message starts with a continuation line")
                headers[headers.count - 1].value += line
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { return require(false, "a header line without a name: \(line)") }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...].dropFirst())))
        }
        let names = headers.map(\.name)
        require(Set(names).isSubset(of: headerNames) && Set(names).count == names.count, "the headers are \(names)")
        guard let written = headers.first(where: { $0.name == "Subject" })?.value else { return require(false, "no Subject") }
        require(decodedSubject(written) == subject, "the Subject \(written.debugDescription) does not read back as \(subject.debugDescription)")
    }

    /// The Subject as a reader decodes it: the text itself, or RFC 2047 words folded with spaces.
    static func decodedSubject(_ value: String) -> String? {
        guard value.hasPrefix("=?utf-8?b?") else { return value }
        var bytes: [UInt8] = []
        for word in value.split(separator: " ") {
            guard word.hasPrefix("=?utf-8?b?"), word.hasSuffix("?="), let chunk = Data(base64Encoded: String(word.dropFirst(10).dropLast(2))) else {
                return nil
            }
            bytes += chunk
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
