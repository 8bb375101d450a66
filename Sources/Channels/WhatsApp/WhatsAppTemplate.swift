package import CRMModel

/// An approved WhatsApp message template, for messages outside the 24-hour customer-service window:
/// its name at Meta, its language, which context values fill its body's `{{1}}`, `{{2}}`, ..., and
/// the kind of file its header takes, if any.
package struct WhatsAppTemplate: Sendable, Equatable {
    package var name: String
    /// A language code as the template was approved in (`en`, `en_US`, `hi`); nil uses the client's
    /// language preference.
    package var language: String?
    /// Context keys, in the order of the template's body parameters.
    package var parameters: [String]
    /// The kind of file its header takes, when it was approved with a media header; nil for none.
    package var header: WhatsAppMedia?

    package init(name: String, language: String? = nil, parameters: [String], header: WhatsAppMedia? = nil) {
        self.name = name
        self.language = language
        self.parameters = parameters
        self.header = header
    }

    /// One template per message type, named after it, with the values the seed's messages lead with.
    package static let seed: [MessageType: WhatsAppTemplate] = [
        .welcome: WhatsAppTemplate(name: "welcome", parameters: ["client_name", "event_type", "event_date"]),
        .budgetSummary: WhatsAppTemplate(name: "budget_summary", parameters: ["client_name", "event_type", "total_cost"]),
        .vendorOptions: WhatsAppTemplate(name: "vendor_options", parameters: ["client_name", "event_type"]),
        .selectionConfirmation: WhatsAppTemplate(name: "selection_confirmation", parameters: ["client_name", "total_cost"]),
        .blueprintDelivery: WhatsAppTemplate(name: "blueprint_delivery", parameters: ["client_name", "blueprint_url"]),
        .errorNotification: WhatsAppTemplate(name: "error_notification", parameters: ["client_name", "error_message"]),
        .reminder: WhatsAppTemplate(name: "reminder", parameters: ["client_name", "deadline"]),
    ]
}
