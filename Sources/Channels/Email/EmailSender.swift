/// Who emails come from (SMTP_FROM_EMAIL, SMTP_FROM_NAME, SENDER_POSTAL_ADDRESS).
package struct EmailSender: Sendable, Equatable {
    package var address: String
    package var name: String?
    /// The sender's postal address, which CAN-SPAM requires in every commercial email.
    package var postalAddress: String?

    package init(address: String, name: String?, postalAddress: String? = nil) {
        self.address = address
        self.name = name
        self.postalAddress = postalAddress
    }

    /// The domain Message-IDs are made under.
    package var domain: String {
        address.split(separator: "@").last.map(String.init) ?? "localhost"
    }
}
