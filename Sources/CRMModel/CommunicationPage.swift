
/// One page of a listing and where the next one starts.
public struct CommunicationPage: Sendable, Equatable {
    public var items: [CommunicationSummary]
    /// nil on the last page.
    public var next: PageCursor?

    public init(items: [CommunicationSummary], next: PageCursor?) {
        self.items = items
        self.next = next
    }
}
