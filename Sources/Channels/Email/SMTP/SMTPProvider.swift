package import CRMModel
import Foundation
import NIOPosix

/// Sends email through an SMTP server with libcurl: STARTTLS or implicit TLS, AUTH, at most
/// `settings.maxSessions` connections, each reused from message to message.
///
/// libcurl blocks, so every transfer runs on the provider's own threads (one per session), never on the
/// Swift concurrency pool. A refusal is reported with the server's reply code as the provider code, or,
/// for what libcurl recognises before any reply says it, `login_denied`, `tls`,
/// `tls_handshake` or `starttls_unavailable`; the policy's error table (`ErrorClasses`) says what each means.
package final class SMTPProvider: ChannelProvider {
    package let channel = Channel.email
    package var name: String { "smtp" }

    private let settings: SMTPSettings
    private let composer: EmailComposer
    private let sessions: CurlSessionPool
    private let threads: NIOThreadPool

    package init(settings: SMTPSettings, composer: EmailComposer) {
        self.settings = settings
        self.composer = composer
        sessions = CurlSessionPool(limit: settings.maxSessions)
        threads = NIOThreadPool(numberOfThreads: max(1, settings.maxSessions))
        threads.start()
    }

    deinit {
        threads.shutdownGracefully { _ in }
    }

    package func send(_ message: OutboundMessage) async throws(ProviderError) -> ProviderReceipt {
        let email = composer.compose(message)
        let outcome = try await transfer(try email.serialized(), to: [message.to])
        if let failure = Self.failure(outcome) { throw failure }
        return ProviderReceipt(providerMessageID: email.messageID.trimmingCharacters(in: ["<", ">"]))
    }

    /// `crm-sidecar check smtp`: with `address`, sends it a short test message; without, connects,
    /// upgrades to TLS and authenticates, then says QUIT without sending anything.
    package func check(sendingTo address: String?) async throws(ProviderError) {
        let outcome: CurlSession.Outcome
        if let address {
            outcome = try await transfer(try composer.testMessage(to: address).serialized(), to: [address])
        } else {
            guard let session = CurlSession() else { throw ProviderError("libcurl could not open a session", answer: .noAnswer) }
            let settings = self.settings
            do {
                outcome = try await threads.runIfActive { session.connect(settings: settings) }
            } catch {
                throw ProviderError("the SMTP provider is shutting down", answer: .noAnswer)
            }
        }
        if let failure = Self.failure(outcome) { throw failure }
    }

    private func transfer(_ bytes: [UInt8], to recipients: [String]) async throws(ProviderError) -> CurlSession.Outcome {
        guard let session = await sessions.acquire() else {
            throw ProviderError("libcurl could not open a session", answer: .noAnswer)
        }
        let settings = self.settings
        let sender = composer.sender.address
        let result: Result<CurlSession.Outcome, any Error>
        do {
            result = .success(try await threads.runIfActive {
                session.transfer(bytes, from: sender, to: recipients, settings: settings)
            })
        } catch {
            result = .failure(error)
        }
        await sessions.release(session)
        switch result {
        case .success(let outcome): return outcome
        case .failure: throw ProviderError("the SMTP provider is shutting down", answer: .noAnswer)
        }
    }

    /// A failed transfer as facts, or nil when the server accepted the message.
    static func failure(_ outcome: CurlSession.Outcome) -> ProviderError? {
        guard outcome.curlCode != 0 else { return nil }
        let detail = Redaction.redact(outcome.message)
        // Only a 4xx or 5xx reply is a refusal; none at all, or the 220 or 250 before a conversation
        // broke off, means the server never said no to the message.
        let answer: ProviderError.Answer = (400..<600).contains(outcome.replyCode) ? .smtp(reply: outcome.replyCode) : .noAnswer
        switch outcome.curlCode {
        case 67: // CURLE_LOGIN_DENIED, whatever the reply (535, 454, 534, ...)
            return ProviderError(
                "the SMTP server refused the credentials (SMTP_USERNAME, SMTP_PASSWORD): \(detail)",
                answer: answer, providerCode: "login_denied"
            )
        case 35: // CURLE_SSL_CONNECT_ERROR: the handshake failed (a dropped or garbled connection, or a wrong port)
            return ProviderError(
                "the TLS handshake with the SMTP server broke off: \(detail)", answer: answer, providerCode: "tls_handshake"
            )
        case 58, 59, 60, 77, 83, 90, 91: // client certificate, cipher list, peer certificate, CA file, pinned key
            return ProviderError(
                "TLS with the SMTP server failed; check SMTP_HOST matches its certificate and SMTP_CA_FILE trusts its issuer: \(detail)",
                answer: answer, providerCode: "tls"
            )
        case 64: // CURLE_USE_SSL_FAILED: no STARTTLS in the EHLO reply, or STARTTLS refused
            return ProviderError(
                "the SMTP server does not offer STARTTLS; use port 465 for implicit TLS, or SMTP_USE_TLS=false only for a trusted relay",
                answer: answer, providerCode: "starttls_unavailable"
            )
        default:
            break
        }
        switch answer {
        case .smtp(let reply) where reply < 500:
            return ProviderError("the SMTP server deferred the message: \(detail)", answer: answer, providerCode: String(reply))
        case .smtp(let reply):
            return ProviderError("the SMTP server rejected the message: \(detail)", answer: answer, providerCode: String(reply))
        case .notSent, .noAnswer, .http:
            // The connection failed, timed out or was cut.
            return ProviderError("cannot reach the SMTP server: \(detail)", answer: .noAnswer)
        }
    }
}
