import CRMModel
import Foundation
import Logging

/// Writes each log record as one JSON object on one line of stderr; stdout belongs to JSON-RPC.
///
/// Keys: `ts` (RFC 3339 UTC), `level`, `label`, `msg`, then the metadata under its own dotted keys.
struct JSONLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    var metadataProvider: Logger.MetadataProvider?
    private let label: String

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var fields: [(String, Logger.Metadata.Value)] = [
            ("ts", .string(WireJSON.format(Date()))),
            ("level", .string(event.level.rawValue)),
            ("label", .string(label)),
            ("msg", .string("\(event.message)")),
        ]
        for (key, value) in merged where !Self.reserved.contains(key) {
            fields.append((key, value))
        }
        var line = LogLine()
        line.object(fields)
        line.newline()
        StandardError.write(line.bytes)
    }

    /// The record's own keys, which metadata of the same name does not replace.
    private static let reserved: Set<String> = ["ts", "level", "label", "msg"]
}
