/// One message as the Cloud API takes it (`POST /{phone-number-id}/messages`): text, a document or
/// image by its uploaded media id, an approved template, or an interactive list or reply buttons.
/// Optional parts left nil are left out of the JSON.
package struct WhatsAppOutgoing: Encodable, Sendable, Equatable {
    package struct Text: Encodable, Sendable, Equatable {
        var previewURL: Bool
        var body: String
        enum CodingKeys: String, CodingKey {
            case previewURL = "preview_url"
            case body
        }
    }

    /// A document or image, by the id its upload returned.
    package struct Media: Encodable, Sendable, Equatable {
        var id: String
        var caption: String?
        /// Documents only: the name the client sees.
        var filename: String?
    }

    package struct Template: Encodable, Sendable, Equatable {
        struct Language: Encodable, Sendable, Equatable { var code: String }
        struct Component: Encodable, Sendable, Equatable {
            /// `header` (a document or image) or `body` (the text parameters).
            var type: String
            var parameters: [Parameter]
        }
        var name: String
        var language: Language
        var components: [Component]?
    }

    package struct Parameter: Encodable, Sendable, Equatable {
        var type: String
        var text: String?
        var document: Media?
        var image: Media?

        static func text(_ text: String) -> Parameter { Parameter(type: "text", text: text) }
    }

    /// A list (up to 10 rows) or reply buttons (up to 3).
    package struct Interactive: Encodable, Sendable, Equatable {
        struct Body: Encodable, Sendable, Equatable { var text: String }
        struct Row: Encodable, Sendable, Equatable {
            var id: String
            var title: String
            var description: String?
        }
        struct Section: Encodable, Sendable, Equatable {
            var title: String?
            var rows: [Row]
        }
        struct Button: Encodable, Sendable, Equatable {
            struct Reply: Encodable, Sendable, Equatable {
                var id: String
                var title: String
            }
            var type = "reply"
            var reply: Reply
        }
        struct Action: Encodable, Sendable, Equatable {
            /// Lists only: the label of the button that opens the list.
            var button: String?
            var sections: [Section]?
            var buttons: [Button]?
        }
        /// `list` or `button`.
        var type: String
        var body: Body
        var action: Action
    }

    var messagingProduct = "whatsapp"
    var recipientType = "individual"
    var to: String
    var type: String
    var text: Text?
    var document: Media?
    var image: Media?
    var template: Template?
    var interactive: Interactive?

    enum CodingKeys: String, CodingKey {
        case messagingProduct = "messaging_product"
        case recipientType = "recipient_type"
        case to, type, text, document, image, template, interactive
    }

    init(to: String, type: String) {
        self.to = to
        self.type = type
    }
}
