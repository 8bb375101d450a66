/// What the side port needs from the configuration.
package struct WebhookSettings: Sendable {
    /// WEBHOOK_HOST and WEBHOOK_PORT (0 picks a free port; `health` reports which).
    package var host: String
    package var port: Int
    /// PUBLIC_BASE_URL without a trailing slash: the URL Twilio signs is this plus the request's path.
    package var publicBaseURL: String
    /// TWILIO_AUTH_TOKEN; without it, Twilio callbacks cannot be verified and are refused.
    package var twilioAuthToken: String?
    /// WHATSAPP_APP_SECRET, for X-Hub-Signature-256; without it, Meta's posts are refused.
    package var whatsAppAppSecret: String?
    /// WHATSAPP_WEBHOOK_VERIFY_TOKEN, for Meta's subscription handshake.
    package var whatsAppVerifyToken: String?
    /// Larger bodies are answered 413 unread; providers' callbacks are a few kilobytes.
    package var maxBodyBytes: Int
    /// DASHBOARD_TOKEN; without it there is no dashboard (404).
    package var dashboardToken: String?

    package init(
        host: String, port: Int, publicBaseURL: String, twilioAuthToken: String?, whatsAppAppSecret: String?,
        whatsAppVerifyToken: String?, maxBodyBytes: Int = 256 * 1024, dashboardToken: String? = nil
    ) {
        self.host = host
        self.port = port
        self.publicBaseURL = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
        self.twilioAuthToken = twilioAuthToken
        self.whatsAppAppSecret = whatsAppAppSecret
        self.whatsAppVerifyToken = whatsAppVerifyToken
        self.maxBodyBytes = maxBodyBytes
        self.dashboardToken = dashboardToken
    }
}
