/// Every channel is opted out or has no address for the client.
package struct NoDeliverableChannel: Error, Sendable, Equatable, CustomStringConvertible {
    /// One reason a channel, for each channel.
    package var reasons: [String]

    package init(reasons: [String]) {
        self.reasons = reasons
    }

    package var description: String {
        "no channel can deliver this communication: " + reasons.joined(separator: "; ")
    }
}
