/// Where a client can be reached on each channel.
///
/// WhatsApp numbers are phone numbers; when no separate WhatsApp number is given, the phone number is
/// used for both.
public struct Recipient: Sendable, Hashable, Codable {
    public var email: EmailAddress?
    public var phone: PhoneNumber?
    public var whatsapp: PhoneNumber?

    public init(email: EmailAddress? = nil, phone: PhoneNumber? = nil, whatsapp: PhoneNumber? = nil) {
        self.email = email
        self.phone = phone
        self.whatsapp = whatsapp ?? phone
    }

    public init(from decoder: any Decoder) throws {
        // A misspelt key (`mobile`, `phone_number`) would otherwise read as "no phone number".
        for key in try decoder.container(keyedBy: AnyCodingKey.self).allKeys where CodingKeys(stringValue: key.stringValue) == nil {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath + [key],
                debugDescription: "is not a recipient field; accepted: email, phone, whatsapp"
            ))
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            email: try container.decodeIfPresent(EmailAddress.self, forKey: .email),
            phone: try container.decodeIfPresent(PhoneNumber.self, forKey: .phone),
            whatsapp: try container.decodeIfPresent(PhoneNumber.self, forKey: .whatsapp)
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
