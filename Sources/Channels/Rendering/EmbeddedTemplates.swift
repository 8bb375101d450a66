/// The templates shipped in the binary, by `<message_type>.<channel>`.
///
/// SwiftPM embeds each file of `Templates/` as its own constant; this table is the one place that
/// names them, so a template added there is added here too (a test checks every pair is present).
enum EmbeddedTemplates {
    static let all: [String: [UInt8]] = [
        "welcome.email": PackageResources.welcome_email_mustache,
        "welcome.sms": PackageResources.welcome_sms_mustache,
        "welcome.whatsapp": PackageResources.welcome_whatsapp_mustache,
        "budget_summary.email": PackageResources.budget_summary_email_mustache,
        "budget_summary.sms": PackageResources.budget_summary_sms_mustache,
        "budget_summary.whatsapp": PackageResources.budget_summary_whatsapp_mustache,
        "vendor_options.email": PackageResources.vendor_options_email_mustache,
        "vendor_options.sms": PackageResources.vendor_options_sms_mustache,
        "vendor_options.whatsapp": PackageResources.vendor_options_whatsapp_mustache,
        "selection_confirmation.email": PackageResources.selection_confirmation_email_mustache,
        "selection_confirmation.sms": PackageResources.selection_confirmation_sms_mustache,
        "selection_confirmation.whatsapp": PackageResources.selection_confirmation_whatsapp_mustache,
        "blueprint_delivery.email": PackageResources.blueprint_delivery_email_mustache,
        "blueprint_delivery.sms": PackageResources.blueprint_delivery_sms_mustache,
        "blueprint_delivery.whatsapp": PackageResources.blueprint_delivery_whatsapp_mustache,
        "error_notification.email": PackageResources.error_notification_email_mustache,
        "error_notification.sms": PackageResources.error_notification_sms_mustache,
        "error_notification.whatsapp": PackageResources.error_notification_whatsapp_mustache,
        "reminder.email": PackageResources.reminder_email_mustache,
        "reminder.sms": PackageResources.reminder_sms_mustache,
        "reminder.whatsapp": PackageResources.reminder_whatsapp_mustache,
    ]
}
