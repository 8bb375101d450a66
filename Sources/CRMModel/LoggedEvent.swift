/// One row of the event log as `events.list` hands it out: the notification's method and the params
/// it carried (its `seq` among them).
public struct LoggedEvent: Sendable, Equatable, Encodable {
    public var seq: Int64
    public var method: String
    public var params: JSONValue

    public init(seq: Int64, method: String, params: JSONValue) {
        self.seq = seq
        self.method = method
        self.params = params
    }
}
