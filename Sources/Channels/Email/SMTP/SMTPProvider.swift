package import CRMModel
import Foundation
import NIOPosix

/// Sends email through an SMTP server with libcurl: STARTTLS or implicit TLS, AUTH, at most
/// `settings.maxSessions` connections, each reused from message to message.
///
/// libcurl blocks, so every transfer runs on the provider's own threads (one per session), never on the
/// Swift concurrency pool. The server's reply code decides the error class: 4xx transient, 5xx
/// permanent, 535 (authentication) an auth failure; the policy's error table refines it by code.
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
            guard let session = CurlSession() else { throw ProviderError(.transient, "libcurl could not open a session") }
            let settings = self.settings
            do {
                outcome = try await threads.runIfActive { session.connect(settings: settings) }
            } catch {
                throw ProviderError(.transient, "the SMTP provider is shutting down")
            }
        }
        if let failure = Self.failure(outcome) { throw failure }
    }

    private func transfer(_ bytes: [UInt8], to recipients: [String]) async throws(ProviderError) -> CurlSession.Outcome {
        guard let session = await sessions.acquire() else {
            throw ProviderError(.transient, "libcurl could not open a session")
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
        case .failure: throw ProviderError(.transient, "the SMTP provider is shutting down")
        }
    }

    /// What a failed transfer means, or nil when the server accepted the message.
    static func failure(_ outcome: CurlSession.Outcome) -> ProviderError? {
        let code = outcome.replyCode > 0 ? String(outcome.replyCode) : nil
        var outcome = outcome
        outcome.message = Redaction.redact(outcome.message)
        switch outcome.curlCode {
        case 0:
            return nil
        case 67: // CURLE_LOGIN_DENIED
            return ProviderError(.auth, "the SMTP server refused the credentials (SMTP_USERNAME, SMTP_PASSWORD): \(outcome.message)", providerCode: code ?? "535")
        case 35, 58, 59, 60, 77, 83, 90, 91: // TLS handshake, certificate, CA file, pinned key
            return ProviderError(.auth, "TLS with the SMTP server failed; check SMTP_HOST matches its certificate and SMTP_CA_FILE trusts its issuer: \(outcome.message)", providerCode: code)
        case 64: // CURLE_USE_SSL_FAILED
            return ProviderError(.auth, "the SMTP server does not offer STARTTLS; use port 465 for implicit TLS, or SMTP_USE_TLS=false only for a trusted relay", providerCode: code)
        default:
            break
        }
        switch outcome.replyCode {
        case 400..<500:
            return ProviderError(.transient, "the SMTP server deferred the message: \(outcome.message)", providerCode: code)
        case 500..<600:
            return ProviderError(.permanent, "the SMTP server rejected the message: \(outcome.message)", providerCode: code)
        default:
            // No reply at all: the connection failed, timed out or was cut.
            return ProviderError(.transient, "cannot reach the SMTP server: \(outcome.message)", providerCode: code)
        }
    }
}
