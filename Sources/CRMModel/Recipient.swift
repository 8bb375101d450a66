/// Where a client can be reached on each channel.
///
/// WhatsApp numbers are phone numbers; when no separate WhatsApp number is given, the phone number is
/// used for both.
public struct Recipient: Sendable, Hashable, Codable {
    public var email: EmailAddress?
    public var phone: PhoneNumber?
    public var whatsapp: PhoneNumber?
    /// How to address the client, as in an email's `To: "Name" <address>`; never holds a line break
    /// or another control character, since it ends up in a header.
    public var name: String?

    public init(email: EmailAddress? = nil, phone: PhoneNumber? = nil, whatsapp: PhoneNumber? = nil, name: String? = nil) {
        self.email = email
        self.phone = phone
        self.whatsapp = whatsapp ?? phone
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        // A misspelt key (`mobile`, `phone_number`) would otherwise read as "no phone number".
        for key in try decoder.container(keyedBy: AnyCodingKey.self).allKeys where CodingKeys(stringValue: key.stringValue) == nil {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath + [key],
                debugDescription: "is not a recipient field; accepted: email, phone, whatsapp, name"
            ))
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decodeIfPresent(String.self, forKey: .name)
        if let name, name.isEmpty || name.count > 200 || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath + [CodingKeys.name],
                debugDescription: "must be 1 to 200 characters without line breaks or other control characters"
            ))
        }
        self.init(
            email: try container.decodeIfPresent(EmailAddress.self, forKey: .email),
            phone: try container.decodeIfPresent(PhoneNumber.self, forKey: .phone),
            whatsapp: try container.decodeIfPresent(PhoneNumber.self, forKey: .whatsapp),
            name: name
        )
    }

    /// The address to use on `channel`, if the client has one there.
    public func address(for channel: Channel) -> String? {
        switch channel {
        case .email: email?.value
        case .sms: phone?.value
        case .whatsapp: whatsapp?.value
        }
    }

    public var isEmpty: Bool { email == nil && phone == nil && whatsapp == nil }
}
