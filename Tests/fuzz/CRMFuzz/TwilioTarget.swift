import Channels
import Foundation

/// Twilio's callbacks: any body and signature header is refused or read without a crash; a body
/// signed as Twilio signs it verifies, and the same body with one byte of the signature changed
/// does not.
enum TwilioTarget {
    static let signature = TwilioSignature(authToken: "fuzz-auth-token")
    static let url = "https://side.example/webhooks/twilio"

    static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let header = input.string()
        let contentType = input.string()
        let query = input.string()
        let body = Data(input.bytes())
        require(
            !signature.isValid(signature: header, url: url + query, body: body, contentType: contentType.isEmpty ? nil : contentType),
            "a signature from the input verified"
        )
        guard let fields = FormEncoding.decode(body) else { return }
        _ = TwilioCallback.events(from: fields, receivedAt: Date())
        let signed = signature.compute(url: url, parameters: fields)
        require(
            signature.isValid(signature: signed.base64EncodedString(), url: url, body: body, contentType: "application/x-www-form-urlencoded"),
            "a body signed as Twilio signs it did not verify"
        )
        var altered = signed
        altered[altered.startIndex] ^= 1
        require(
            !signature.isValid(signature: altered.base64EncodedString(), url: url, body: body, contentType: "application/x-www-form-urlencoded"),
            "an altered signature verified"
        )
    }
}
