/// What a communication is about; each type has its own templates and channel preference.
public enum MessageType: String, Codable, Sendable, CaseIterable, Hashable, WireEnum {
    case welcome
    case budgetSummary = "budget_summary"
    case vendorOptions = "vendor_options"
    case selectionConfirmation = "selection_confirmation"
    case blueprintDelivery = "blueprint_delivery"
    case errorNotification = "error_notification"
    case reminder

    public init(from decoder: any Decoder) throws {
        self = try Self.decode(from: decoder)
    }
}
