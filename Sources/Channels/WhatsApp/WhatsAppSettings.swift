package import CRMModel

/// WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_ACCESS_TOKEN, WHATSAPP_API_VERSION, and WHATSAPP_API_BASE_URL to
/// point the provider at a test server; the templates come from the policy.
package struct WhatsAppSettings: Sendable, Equatable {
    package var phoneNumberID: String
    package var accessToken: String
    /// `https://graph.facebook.com` unless overridden.
    package var apiBaseURL: String
    package var apiVersion: String
    package var templates: [MessageType: WhatsAppTemplate]

    package init(
        phoneNumberID: String, accessToken: String, apiBaseURL: String = "https://graph.facebook.com",
        apiVersion: String = "v21.0", templates: [MessageType: WhatsAppTemplate] = WhatsAppTemplate.seed
    ) {
        self.phoneNumberID = phoneNumberID
        self.accessToken = accessToken
        self.apiBaseURL = apiBaseURL.hasSuffix("/") ? String(apiBaseURL.dropLast()) : apiBaseURL
        self.apiVersion = apiVersion
        self.templates = templates
    }

    var messagesURL: String {
        "\(apiBaseURL)/\(apiVersion)/\(phoneNumberID)/messages"
    }

    var mediaURL: String {
        "\(apiBaseURL)/\(apiVersion)/\(phoneNumberID)/media"
    }
}
