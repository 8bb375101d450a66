/// Who emails come from (SMTP_FROM_EMAIL, SMTP_FROM_NAME).
package struct EmailSender: Sendable, Equatable {
    package var address: String
    package var name: String?

    package init(address: String, name: String?) {
        self.address = address
        self.name = name
    }

    /// The domain Message-IDs are made under.
    package var domain: String {
        address.split(separator: "@").last.map(String.init) ?? "localhost"
    }
}
