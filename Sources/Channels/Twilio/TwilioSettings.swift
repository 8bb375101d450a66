/// TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_PHONE_NUMBER (or TWILIO_MESSAGING_SERVICE_SID), and
/// TWILIO_API_BASE_URL to point the provider at a test server.
package struct TwilioSettings: Sendable, Equatable {
    package var accountSID: String
    package var authToken: String
    /// The sending number in E.164; ignored when a messaging service is set.
    package var from: String?
    package var messagingServiceSID: String?
    /// `https://api.twilio.com` unless overridden.
    package var apiBaseURL: String
    /// Where Twilio posts status callbacks: the side port's `/webhooks/twilio`, when public.
    package var statusCallbackURL: String?

    package init(
        accountSID: String, authToken: String, from: String?, messagingServiceSID: String? = nil,
        apiBaseURL: String = "https://api.twilio.com", statusCallbackURL: String? = nil
    ) {
        self.accountSID = accountSID
        self.authToken = authToken
        self.from = from
        self.messagingServiceSID = messagingServiceSID
        self.apiBaseURL = apiBaseURL.hasSuffix("/") ? String(apiBaseURL.dropLast()) : apiBaseURL
        self.statusCallbackURL = statusCallbackURL
    }

    var messagesURL: String {
        "\(apiBaseURL)/2010-04-01/Accounts/\(accountSID)/Messages.json"
    }
}
