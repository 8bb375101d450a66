import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// One HTTPS call to a provider's API, with what the providers' answers have in common: a network
/// failure, TLS failure or timeout is reported as no answer, a body is read up to a limit, and
/// `Retry-After` is understood.
struct ProviderHTTP: Sendable {
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data

        init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: Data) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        /// Seconds from `Retry-After` (delta-seconds or an HTTP date), when the provider sent one.
        var retryAfter: TimeInterval? {
            guard let value = headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
            if let seconds = TimeInterval(value), seconds >= 0 { return seconds }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            return formatter.date(from: value).map { max(0, $0.timeIntervalSinceNow) }
        }
    }

    var client: HTTPClient = Self.client

    /// One client for every provider, refusing anything older than TLS 1.2 (NIOSSL's default
    /// client configuration still accepts TLS 1.0). It lives as long as the process.
    private static let client: HTTPClient = {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
    }()
    var timeout: Duration = .seconds(30)
    /// A provider's name for messages: "Twilio", "WhatsApp Cloud API".
    var service: String

    func send(_ request: HTTPClientRequest) async throws(ProviderError) -> Response {
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
            var body = try await response.body.collect(upTo: 1 << 20)
            return Response(
                status: Int(response.status.code), headers: response.headers,
                body: Data(body.readBytes(length: body.readableBytes) ?? [])
            )
        } catch {
            // Connection refused, reset, TLS trouble, or no answer in time: the provider never said no.
            throw ProviderError("cannot reach the \(service): \(Self.describe(error))", answer: .noAnswer)
        }
    }

    /// An error's description without anything from the request (URLs carry account ids at most).
    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        return String(describing: type(of: error)) + ": \(error)"
    }
}
