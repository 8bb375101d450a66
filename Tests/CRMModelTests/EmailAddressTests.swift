import CRMModel
import Testing

@Suite("Email addresses follow RFC 5321")
struct EmailAddressTests {
    @Test(
        "accepts mailboxes RFC 5321 allows",
        arguments: [
            "priya@example.com", "first.last+tag@sub.example.co.in", "a@b", "x!#$%&'*+-/=?^_`{|}~@example.com",
            "\"quoted name\"@example.com", "\"a\\\"b\"@example.com", "user@[192.168.0.1]", "user@[IPv6:2001:db8::1]",
        ]
    )
    func accepts(_ address: String) throws {
        #expect(try EmailAddress(validating: address).value == address)
    }

    @Test(
        "refuses what is not a mailbox, with a reason",
        arguments: [
            ("", "empty"), ("priya.example.com", "'@'"), ("@example.com", "empty local part"),
            ("priya@", "empty domain"), (".priya@example.com", "dot"), ("pri..ya@example.com", "dot"),
            ("pri ya@example.com", "local part"), ("priya@exa_mple.com", "domain"), ("priya@-example.com", "'-'"),
            ("priya@example..com", "empty label"), ("prïya@example.com", "ASCII"),
            ("priya@example.com\r\nBcc: x@y.z", "local part"), ("\"unterminated@example.com", "quoted"),
            (String(repeating: "a", count: 65) + "@example.com", "64"), ("priya@[1.2.3]", "IPv4"),
        ]
    )
    func refuses(_ address: String, _ words: String) {
        #expect {
            try EmailAddress(validating: address)
        } throws: { error in
            guard let error = error as? FieldError else { return false }
            return error.reason.contains(words) && !error.reason.contains(address.isEmpty ? "\u{0}" : address)
        }
    }
}

@Suite("Phone numbers are E.164")
struct PhoneNumberTests {
    @Test("accepts E.164", arguments: ["+14155552671", "+919876543210", "+2901234", "+123456789012345"])
    func accepts(_ number: String) throws {
        #expect(try PhoneNumber(validating: number).value == number)
    }

    @Test(
        "refuses anything else",
        arguments: ["14155552671", "+1 415 555 2671", "+1-415-555-2671", "+0123456789", "+123456", "+1234567890123456", "+", ""]
    )
    func refuses(_ number: String) {
        #expect(throws: FieldError.self) { try PhoneNumber(validating: number) }
    }
}
