/// At most `limit` SMTP sessions, handed to one sender at a time and kept for the next when it is done,
/// so connections are reused and the server never sees more than `limit` of them from this sidecar.
actor CurlSessionPool {
    private let limit: Int
    private var idle: [CurlSession] = []
    private var created = 0
    private var waiters: [CheckedContinuation<CurlSession, Never>] = []

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// A session to use alone; nil only when libcurl cannot make one (out of memory).
    func acquire() async -> CurlSession? {
        if let session = idle.popLast() { return session }
        if created < limit {
            guard let session = CurlSession() else { return nil }
            created += 1
            return session
        }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func release(_ session: CurlSession) {
        if waiters.isEmpty {
            idle.append(session)
        } else {
            waiters.removeFirst().resume(returning: session)
        }
    }
}
