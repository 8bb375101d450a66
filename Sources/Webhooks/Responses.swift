import Hummingbird
import NIOCore

/// The few kinds of answer the side port gives.
enum Responses {
    static func text(_ text: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func html(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        var response = text(html, status: status, contentType: "text/html; charset=utf-8")
        // Pages of ours are never cached: a prefetched confirmation page must not stand in for the POST.
        response.headers[.cacheControl] = "no-store"
        return response
    }

    static func status(_ status: HTTPResponse.Status) -> Response {
        Response(status: status)
    }

    /// The provider should send the event again later: the store could not take it now.
    static let tryAgain = Response(status: .serviceUnavailable, headers: [.retryAfter: "30"])
}
