import CCurl
import Foundation

/// One libcurl easy handle, and with it one SMTP connection: libcurl keeps a handle's connection open
/// after a transfer and reuses it for the next one to the same server, so a session sends message after
/// message without a new TCP and TLS handshake each time.
///
/// Blocking: `transfer` must run on a thread of its own, never on the Swift concurrency pool. A session
/// is used by one thread at a time (the pool hands it out to one sender at a time).
final class CurlSession: @unchecked Sendable {
    /// What libcurl said about one transfer.
    struct Outcome: Sendable {
        /// libcurl's result (`CURLE_*`), 0 when the server accepted the message.
        var curlCode: UInt32
        /// The SMTP server's last reply code, 0 when it never answered.
        var replyCode: Int
        /// libcurl's description of the failure; it names commands and reply codes, never the message
        /// or credentials.
        var message: String
    }

    private let handle: UnsafeMutableRawPointer
    /// Set by a failed transfer: the connection may be in any state (a reply still on its way, a
    /// server that stalled or closed), so the next transfer opens a new one rather than send into it.
    private var replaceConnection = false

    /// libcurl wants its global set-up done once, before any other call, on one thread.
    private static let initialized: Bool = {
        // CURL_GLOBAL_ALL (SSL | WIN32); a macro expression Swift does not import.
        curl_global_init(3) == CURLE_OK
    }()

    init?() {
        guard Self.initialized, let handle = curl_easy_init() else { return nil }
        self.handle = handle
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    func transfer(_ message: [UInt8], from sender: String, to recipients: [String], settings: SMTPSettings) -> Outcome {
        var list: UnsafeMutablePointer<curl_slist>?
        for recipient in recipients {
            list = curl_slist_append(list, "<\(recipient)>")
        }
        defer { curl_slist_free_all(list) }

        let upload = Upload(message)
        let context = Unmanaged.passRetained(upload)
        defer { context.release() }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { buffer in
            configure(settings, errorBuffer: buffer.baseAddress)
            crm_curl_setopt_long(handle, CURLOPT_CONNECT_ONLY, 0)
            crm_curl_setopt_long(handle, CURLOPT_FRESH_CONNECT, replaceConnection ? 1 : 0)
            crm_curl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(sender)>")
            crm_curl_setopt_list(handle, CURLOPT_MAIL_RCPT, list)
            crm_curl_setopt_long(handle, CURLOPT_UPLOAD, 1)
            crm_curl_setopt_size(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(message.count))
            crm_curl_setopt_read_callback(handle, { buffer, size, count, context in
                guard let buffer, let context else { return 0 }
                return Unmanaged<Upload>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: size * count)
            })
            crm_curl_setopt_pointer(handle, CURLOPT_READDATA, context.toOpaque())
            defer {
                // The buffer and the list die with this call; the handle must not keep pointing at them.
                crm_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, nil)
                crm_curl_setopt_list(handle, CURLOPT_MAIL_RCPT, nil)
            }
            return curl_easy_perform(handle)
        }
        replaceConnection = code != CURLE_OK
        return outcome(code, errorBuffer)
    }

    /// Connects, says EHLO, upgrades to TLS and authenticates as a send would, and goes no further:
    /// libcurl's connect-only mode. For `crm-sidecar check smtp`; the session is not for sending after.
    func connect(settings: SMTPSettings) -> Outcome {
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { buffer in
            configure(settings, errorBuffer: buffer.baseAddress)
            crm_curl_setopt_long(handle, CURLOPT_CONNECT_ONLY, 1)
            defer { crm_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, nil) }
            return curl_easy_perform(handle)
        }
        return outcome(code, errorBuffer)
    }

    /// The options every conversation with the server shares.
    private func configure(_ settings: SMTPSettings, errorBuffer: UnsafeMutablePointer<CChar>?) {
        crm_curl_setopt_string(handle, CURLOPT_URL, settings.url)
        crm_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        crm_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(settings.connectTimeout))
        crm_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(settings.timeout))
        // One connection kept per session: a new one (after a failure) closes the old, and the old
        // one's QUIT waits no longer than a reply may take.
        crm_curl_setopt_long(handle, CURLOPT_MAXCONNECTS, 1)
        crm_curl_setopt_long(handle, CURLOPT_SERVER_RESPONSE_TIMEOUT, max(1, Self.milliseconds(settings.timeout) / 1000))
        crm_curl_setopt_long(
            handle, CURLOPT_USE_SSL,
            Int(settings.security == .none ? CURLUSESSL_NONE.rawValue : CURLUSESSL_ALL.rawValue)
        )
        // Certificate and host name checks stay on, whatever else is configured.
        crm_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
        // TLS 1.2 at least (STARTTLS and implicit TLS alike); libcurl's default still allows 1.0.
        crm_curl_setopt_long(handle, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2)
        crm_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = settings.caFile {
            crm_curl_setopt_string(handle, CURLOPT_CAINFO, caFile)
        }
        if let username = settings.username {
            crm_curl_setopt_string(handle, CURLOPT_USERNAME, username)
            crm_curl_setopt_string(handle, CURLOPT_PASSWORD, settings.password ?? "")
        }
        crm_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
    }

    private func outcome(_ code: CURLcode, _ errorBuffer: [CChar]) -> Outcome {
        var message = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if message.isEmpty, code != CURLE_OK {
            message = String(cString: curl_easy_strerror(code))
        }
        return Outcome(curlCode: code.rawValue, replyCode: crm_curl_response_code(handle), message: message)
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// The message as libcurl reads it, in pieces of the size it asks for.
    private final class Upload {
        let bytes: [UInt8]
        var offset = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
            let count = min(capacity, bytes.count - offset)
            guard count > 0 else { return 0 }
            bytes.withUnsafeBufferPointer { source in
                UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + offset, byteCount: count)
            }
            offset += count
            return count
        }
    }
}
