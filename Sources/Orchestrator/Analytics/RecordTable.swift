package import CRMModel
package import Foundation

/// `analytics.export`'s communications as CSV (RFC 4180: a header row, CRLF line ends, fields
/// quoted when they must be) or as a JSON array, written a row at a time so that no export is ever
/// held whole in memory.
package enum RecordTable {
    package enum Format: String, Sendable, CaseIterable {
        case csv, json
    }

    /// The columns, in order; times are RFC 3339 in UTC, empty (or null) when never reached.
    package static let columns = [
        "communication_id", "plan_id", "client_id", "message_type", "urgency", "status", "channel", "fallback_from",
        "provider", "attempts", "retries", "last_error", "created_at", "queued_at", "sent_at", "delivered_at",
        "opened_at", "clicked_at", "ended_at",
    ]

    /// What comes before the first row.
    package static func opening(_ format: Format) -> Data {
        switch format {
        case .csv: Data((columns.map(csvField).joined(separator: ",") + "\r\n").utf8)
        case .json: Data("[".utf8)
        }
    }

    /// One row; `index` is its place from 0 (JSON puts a comma before all but the first).
    package static func row(_ record: CommunicationRecord, index: Int, format: Format) -> Data {
        let values = values(of: record)
        switch format {
        case .csv:
            return Data((values.map { csvField($0 ?? "") }.joined(separator: ",") + "\r\n").utf8)
        case .json:
            var text = index == 0 ? "\n{" : ",\n{"
            for (offset, (column, value)) in zip(columns, values).enumerated() {
                if offset > 0 { text += "," }
                text += jsonString(column) + ":"
                switch (column, value) {
                case (_, nil): text += "null"
                case ("attempts", let number?), ("retries", let number?): text += number
                case (_, let string?): text += jsonString(string)
                }
            }
            return Data((text + "}").utf8)
        }
    }

    /// What comes after the last row.
    package static func closing(_ format: Format, rows: Int) -> Data {
        switch format {
        case .csv: Data()
        case .json: Data((rows == 0 ? "]\n" : "\n]\n").utf8)
        }
    }

    private static func values(of record: CommunicationRecord) -> [String?] {
        func time(_ date: Date?) -> String? { date.map(WireJSON.format) }
        return [
            record.communicationID, record.planID, record.clientID, record.messageType, record.urgency, record.status,
            record.channel, record.fallbackFrom, record.provider, String(record.attempts), String(record.retries), record.lastError,
            time(record.createdAt), time(record.queuedAt), time(record.sentAt), time(record.deliveredAt), time(record.openedAt),
            time(record.clickedAt), time(record.endedAt),
        ]
    }

    /// RFC 4180: a field with a comma, a quote or a line break goes in quotes, its quotes doubled.
    package static func csvField(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func jsonString(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case _ where scalar.value < 0x20: text += String(format: "\\u%04x", scalar.value)
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}
