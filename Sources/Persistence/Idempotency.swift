import Crypto
package import CRMModel
package import Foundation

/// What `communicate` stores when a caller gives an idempotency key, and how a repeat is told apart
/// from a different request under the same key.
package enum Idempotency {
    /// What a store did with a new communication.
    package enum Insertion: Sendable, Equatable {
        /// Stored, with its first status change logged.
        case inserted(StatusChange)
        /// The key was used before for the same request: this is its communication, nothing written.
        case existing(UUID)
        /// The key was used before for a different request: nothing written.
        case conflict

        package var isInserted: Bool {
            if case .inserted = self { true } else { false }
        }
    }

    /// A digest of everything the caller asked for: the same request repeated (a workflow node run
    /// again after a resume) has the same fingerprint; any change of what to send, to whom, or when
    /// does not.
    package static func fingerprint(of request: CommunicationRequest, sendAt: Date?) -> Data {
        var parts: [String] = [
            request.planID.canonicalString, request.clientID.canonicalString,
            request.messageType.rawValue, request.urgency.rawValue, request.preferredChannel?.rawValue ?? "",
            sendAt.map(WireJSON.format) ?? "",
        ]
        // Foundation's, not the wire's: a fingerprint stored by an earlier version must still match.
        let encoder = WireJSON.makeFoundationEncoder()
        parts.append((try? encoder.encode(request.recipient)).map { String(decoding: $0, as: UTF8.self) } ?? "")
        parts.append((try? encoder.encode(request.context)).map { String(decoding: $0, as: UTF8.self) } ?? "")
        for attachment in request.attachments {
            parts.append(attachment.filename)
            parts.append(attachment.contentType)
            parts.append(Data(SHA256.hash(data: attachment.data)).base64EncodedString())
        }
        // Length-prefixed, so no two different lists of parts join into the same bytes.
        let joined = parts.map { "\($0.utf8.count):\($0)" }.joined()
        return Data(SHA256.hash(data: Data(joined.utf8)))
    }

    /// A new request with `fingerprint` under a key already used for `communicationID`.
    static func `repeat`(of communicationID: String, stored: Data, fingerprint: Data?) -> Insertion {
        guard stored == (fingerprint ?? Data()), let id = UUID(hexString: communicationID) else { return .conflict }
        return .existing(id)
    }
}
