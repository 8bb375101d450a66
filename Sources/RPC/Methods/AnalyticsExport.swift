import CRMModel
import Foundation
import Orchestrator
import Synchronization

/// `analytics.export`: the communications of a period one row each (CSV or JSON, no personal
/// data), or the report of `analytics.get` (JSON, CSV or PDF); inline, or to a file.
package enum AnalyticsExport: RPCMethod {
    package static let name = "analytics.export"
    /// Larger than this, the export must go to a file.
    static let inlineLimit = 8 << 20

    package struct Params: RPCParams {
        var start: Date
        var end: Date
        var format: String?
        var kind: String?
        var path: String?
        var planID: UUID?
        var clientID: UUID?
        var channel: Channel?
        var messageType: MessageType?
        var interval: String?
        var timeZone: String?

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case start, end, format, kind, path, channel, interval
            case planID = "plan_id"
            case clientID = "client_id"
            case messageType = "message_type"
            case timeZone = "time_zone"
        }
    }

    enum Kind: String, CaseIterable {
        case communications, summary
    }

    enum Format: String, CaseIterable {
        case csv, json, pdf
    }

    package struct Result: Encodable, Sendable {
        var format: String
        var kind: String
        var rowCount: Int
        var bytes: Int
        var sha256: String
        var path: String?
        var content: String?
        var contentEncoding: String?

        enum CodingKeys: String, CodingKey {
            case format, kind, bytes, sha256, path, content
            case rowCount = "row_count"
            case contentEncoding = "content_encoding"
        }
    }

    package static func handle(_ params: Params, context: MethodContext) async throws(RPCError) -> Result {
        let kind = try choice(params.kind, default: Kind.communications, field: "kind")
        let format = try choice(params.format, default: Format.csv, field: "format")
        guard params.end > params.start else {
            throw .invalidParams(FieldError(field: "end", reason: "must be later than start"))
        }
        if let path = params.path, path.isEmpty {
            throw .invalidParams(FieldError(field: "path", reason: "must name a file, or be left out for the export inline"))
        }
        let query = AnalyticsQuery(
            start: params.start, end: params.end, planID: params.planID, clientID: params.clientID, channel: params.channel,
            messageType: params.messageType
        )
        let rows: Int
        let sink: Sink
        switch (kind, format) {
        case (.communications, .pdf):
            throw .invalidParams(FieldError(field: "format", reason: "pdf is for kind summary; communications are csv or json"))
        case (.communications, let format):
            let table = format == .csv ? RecordTable.Format.csv : .json
            sink = try Sink(path: params.path, limit: inlineLimit)
            sink.append(RecordTable.opening(table))
            let counter = Mutex(0)
            do {
                rows = try await context.analytics.records(query) { record in
                    let index = counter.withLock { count in
                        defer { count += 1 }
                        return count
                    }
                    return sink.append(RecordTable.row(record, index: index, format: table))
                }
            } catch {
                throw RPCError(error)
            }
            sink.append(RecordTable.closing(table, rows: rows))
        case (.summary, let format):
            // The report first: a bad interval or time zone is named before any file is made.
            let report = try await AnalyticsGet.report(
                query, interval: params.interval, timeZone: params.timeZone, context: context
            )
            sink = try Sink(path: params.path, limit: inlineLimit)
            switch format {
            case .json:
                guard let data = try? WireJSON.makeEncoder().encode(report) else { throw .internalError }
                sink.append(data)
            case .csv:
                sink.append(Data(SummaryTable.csv(report).utf8))
            case .pdf:
                guard let pdf = try? context.analytics.pdf(report) else { throw .internalError }
                sink.append(pdf)
            }
            rows = report.communications
        }
        return try sink.finish(format: format.rawValue, kind: kind.rawValue, rows: rows, binary: format == .pdf)
    }

    private static func choice<T: RawRepresentable & CaseIterable>(_ name: String?, default: T, field: String) throws(RPCError) -> T
    where T.RawValue == String {
        guard let name else { return `default` }
        guard let value = T(rawValue: name) else {
            throw .invalidParams(FieldError(field: field, reason: "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        return value
    }

    /// Where the export goes: a file (`ExportFile`), or memory up to the inline limit.
    private final class Sink: Sendable {
        private enum Destination {
            case file(ExportFile, path: String)
            case memory(Data)
        }

        private struct State {
            var destination: Destination
            var bytes = 0
            var overflowed = false
        }

        private let state: Mutex<State>
        private let limit: Int

        init(path: String?, limit: Int) throws(RPCError) {
            self.limit = limit
            guard let path else {
                state = Mutex(State(destination: .memory(Data())))
                return
            }
            do {
                let url = URL(fileURLWithPath: path)
                state = Mutex(State(destination: .file(try ExportFile(creating: url), path: url.path)))
            } catch {
                throw .invalidParams(FieldError(field: "path", reason: "cannot be written: \(error.reason)"))
            }
        }

        /// False once nothing more can go in (the file failed, or memory is full): stop writing.
        @discardableResult
        func append(_ data: Data) -> Bool {
            state.withLock { state in
                switch state.destination {
                case .file(let file, _):
                    return file.append(data)
                case .memory(var buffer):
                    guard !state.overflowed, buffer.count + data.count <= limit else {
                        state.overflowed = true
                        state.destination = .memory(Data())
                        return false
                    }
                    state.destination = .memory(Data())  // so the append below does not copy
                    buffer.append(data)
                    state.destination = .memory(buffer)
                    return true
                }
            }
        }

        func finish(format: String, kind: String, rows: Int, binary: Bool) throws(RPCError) -> Result {
            try state.withLock { state throws(RPCError) -> Result in
                switch state.destination {
                case .file(let file, let path):
                    do throws(ExportFile.Failure) {
                        let digest = try file.finish()
                        return Result(format: format, kind: kind, rowCount: rows, bytes: file.bytes, sha256: digest, path: path)
                    } catch {
                        throw .invalidParams(FieldError(field: "path", reason: "cannot be written: \(error.reason)"))
                    }
                case .memory(let buffer):
                    guard !state.overflowed else {
                        throw .invalidParams(FieldError(
                            field: "path", reason: "is needed: the export is larger than the \(limit) bytes returned inline"
                        ))
                    }
                    return Result(
                        format: format, kind: kind, rowCount: rows, bytes: buffer.count, sha256: ExportFile.sha256(buffer),
                        content: binary ? buffer.base64EncodedString() : String(decoding: buffer, as: UTF8.self),
                        contentEncoding: binary ? "base64" : "utf-8"
                    )
                }
            }
        }
    }
}
