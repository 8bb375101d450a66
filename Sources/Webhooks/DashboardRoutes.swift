import Crypto
import Foundation
import Hummingbird
import Synchronization

/// `GET /dashboard`: the analytics report as a page, for whoever holds DASHBOARD_TOKEN.
///
/// Off (404, as for any unknown path) without a token. `?token=` with the right one sets a session
/// cookie (HttpOnly, SameSite=Strict, scoped to /dashboard) and redirects to the URL without it,
/// so the token does not stay in the address bar, the history or a Referer. The cookie holds an
/// HMAC of the token, not the token, and the same in every sidecar on the token. Tokens and cookies
/// are compared in constant time and never logged.
final class DashboardRoutes: Sendable {
    /// The page for the last `days` days; nil when the store cannot answer now.
    typealias Page = @Sendable (_ days: Int) async -> String?

    static let periods = [7, 30, 90]
    static let defaultDays = 30
    static let cookieName = "crm_dashboard"

    private let tokenDigest: [UInt8]?
    private let session: String?
    private let secureCookie: Bool
    private let page: Page
    /// Pages made in the last `freshness`, by period: reloads (and several people looking) do not
    /// each run a month's aggregates against the store the sends use.
    private let made = Mutex<[Int: (at: ContinuousClock.Instant, html: String)]>([:])
    private static let freshness: Duration = .seconds(60)

    init(token: String?, secureCookie: Bool, page: @escaping Page) {
        tokenDigest = token.map { Array(SHA256.hash(data: Data($0.utf8))) }
        session = token.map { token in
            let code = HMAC<SHA256>.authenticationCode(for: Data("crm-sidecar dashboard session".utf8), using: SymmetricKey(data: Data(token.utf8)))
            return code.map { String(format: "%02x", $0) }.joined()
        }
        self.secureCookie = secureCookie
        self.page = page
    }

    func handle(_ request: Request) async -> Response {
        guard let tokenDigest, let session else { return Responses.status(.notFound) }
        let query = request.uri.queryParameters
        let days = query["days"].flatMap { Int(String($0)) }.flatMap { Self.periods.contains($0) ? $0 : nil } ?? Self.defaultDays
        if let offered = query["token"] {
            guard Self.same(Array(SHA256.hash(data: Data(String(offered).utf8))), tokenDigest) else { return Self.refused }
            var response = Response(status: .seeOther)
            response.headers[.location] = query["days"] == nil ? "/dashboard" : "/dashboard?days=\(days)"
            response.headers[.setCookie] = "\(Self.cookieName)=\(session); Path=/dashboard; HttpOnly; SameSite=Strict"
                + (secureCookie ? "; Secure" : "")
            response.headers[.cacheControl] = "no-store"
            return response
        }
        guard let cookie = Self.cookie(in: request), Self.same(Array(cookie.utf8), Array(session.utf8)) else { return Self.refused }
        guard let html = await cachedPage(days) else { return Responses.tryAgain }
        var response = Responses.html(html)
        // Everything is inline; nothing may load from elsewhere, scripts least of all.
        response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }

    private func cachedPage(_ days: Int) async -> String? {
        let now = ContinuousClock.now
        if let kept = made.withLock({ $0[days] }), now - kept.at < Self.freshness { return kept.html }
        guard let html = await page(days) else { return nil }
        made.withLock { $0[days] = (now, html) }
        return html
    }

    private static var refused: Response {
        var response = Responses.html(
            "<!doctype html><title>Unauthorized</title><p>Open the dashboard with its link: /dashboard?token=…</p>", status: .unauthorized
        )
        response.headers[.wwwAuthenticate] = "Cookie realm=\"crm-sidecar dashboard\""
        return response
    }

    private static func cookie(in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == cookieName { return String(parts[1]) }
            }
        }
        return nil
    }

    /// Equal bytes, in a time that depends on the length only.
    private static func same(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
