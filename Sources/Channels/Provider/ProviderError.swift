package import CRMModel
package import Foundation

/// A provider did not accept a message, told as facts: how far the message got (`answer`), the
/// provider's own code, its `Retry-After`. What kind of failure that is (`FailureCategory`) is the
/// policy's decision (`ErrorClasses` in the orchestrator), never the provider's, so one table can be
/// changed by an operator without two readings of the same code disagreeing.
package struct ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// How far a message got before it failed: the fact `ErrorClasses` falls back on when the table
    /// does not list the provider's code.
    package enum Answer: Sendable, Equatable {
        /// Refused here before anything went out, because the message cannot be sent as it is (a header
        /// that would inject lines, no approved template, cannot be encoded): sending it again is the same.
        case notSent
        /// The provider was not reached, or the conversation broke off before it refused the message:
        /// no route, connection refused or reset, a timeout, a TLS failure, the sidecar shutting down.
        case noAnswer
        /// The provider's HTTP API answered with this status.
        case http(status: Int)
        /// The SMTP server refused with this reply code (4xx or 5xx).
        case smtp(reply: Int)
    }

    /// What went wrong, for the attempt record and logs; no bodies, no credentials, no addresses.
    package var message: String
    /// How far the message got.
    package var answer: Answer
    /// The provider's own code, when it gave one: the SMTP reply code (or a libcurl condition the reply
    /// code does not tell: `login_denied`, `tls`, `starttls_unavailable`), a Twilio or Meta error code,
    /// or one of ours for a message refused before sending (`header_injection`, `no_template`, ...).
    package var providerCode: String?
    /// How long the provider asked us to wait, when it said.
    package var retryAfter: TimeInterval?

    package init(_ message: String, answer: Answer, providerCode: String? = nil, retryAfter: TimeInterval? = nil) {
        self.message = message
        self.answer = answer
        self.providerCode = providerCode
        self.retryAfter = retryAfter
    }

    /// The HTTP status or SMTP reply code, when the provider answered.
    package var status: Int? {
        switch answer {
        case .http(let status): status
        case .smtp(let reply): reply
        case .notSent, .noAnswer: nil
        }
    }

    /// Whether the provider answered at all (with a refusal), as opposed to never being reached or the
    /// message never going out.
    package var reachedProvider: Bool { status != nil }

    /// The message and the facts behind it, for the attempt record and logs; the status is left out
    /// when it is the code already (an SMTP reply).
    package var description: String {
        var facts: [String] = []
        if let providerCode { facts.append("code \(providerCode)") }
        switch answer {
        case .http(let status): facts.append("HTTP \(status)")
        case .smtp(let reply) where String(reply) != providerCode: facts.append("SMTP reply \(reply)")
        case .smtp, .notSent, .noAnswer: break
        }
        return facts.isEmpty ? message : "\(message) (\(facts.joined(separator: ", ")))"
    }
}
