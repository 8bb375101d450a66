/// What a client chose in a reply: a row of an interactive list or a reply button (its `id` and
/// `title`, as we sent them), or an option's number typed as text ("option 2").
///
/// On the wire `{"id": "opt-2", "title": "Garden venue"}` or `{"number": 2}`. Events logged before
/// the choice had an id were a bare integer; they still read, as `{"number": n}`.
public struct Selection: Sendable, Equatable, Codable {
    public var id: String?
    public var title: String?
    public var number: Int?

    public init(id: String, title: String?) {
        self.id = id
        self.title = title
    }

    public init(number: Int) {
        self.number = number
    }

    public init(from decoder: any Decoder) throws {
        if let number = try? decoder.singleValueContainer().decode(Int.self) {
            self.init(number: number)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decodeIfPresent(String.self, forKey: .id),
            title: try container.decodeIfPresent(String.self, forKey: .title),
            number: try container.decodeIfPresent(Int.self, forKey: .number)
        )
    }

    private init(id: String?, title: String?, number: Int?) {
        self.id = id
        self.title = title
        self.number = number
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(id, forKey: .id)
        try container.encodeIfPresent(title, forKey: .title)
        try container.encodeIfPresent(number, forKey: .number)
    }

    enum CodingKeys: String, CodingKey {
        case id, title, number
    }
}
