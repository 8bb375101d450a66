import CRMModel
package import Foundation

/// `analytics.export`'s summary as CSV: one table a section (totals, by channel, ..., series,
/// targets), each with its own header row whose first field names the section, and an empty line
/// between tables. Each table on its own is RFC 4180.
package enum SummaryTable {
    /// The CSV.
    package static func csv(_ report: AnalyticsReport) -> String {
        var tables: [[[String]]] = []
        let counts = ["communications", "sent", "delivered", "opened", "clicked", "failed", "bounced", "delivery_rate", "open_rate", "click_rate"]
        func breakdown(_ value: AnalyticsReport.Breakdown) -> [String] {
            [value.communications, value.sent, value.delivered, value.opened, value.clicked, value.failed, value.bounced].map(String.init)
                + [value.deliveryRate, value.openRate, value.clickRate].map(rate)
        }
        func grouped(_ section: String, _ groups: [String: AnalyticsReport.Breakdown], extra: Bool = false) -> [[String]] {
            let header = [section] + counts + (extra ? ["replies", "responded", "response_rate"] : [])
            return [header] + groups.sorted(by: { $0.key < $1.key }).map { key, value in
                [key] + breakdown(value) + (extra ? [String(value.replies ?? 0), String(value.responded ?? 0), rate(value.responseRate ?? 0)] : [])
            }
        }
        tables.append([["period", "start", "end", "time_zone", "interval", "generated_at"],
                       ["", WireJSON.format(report.start), WireJSON.format(report.end), report.timeZone, report.interval, WireJSON.format(report.generatedAt)]])
        tables.append([["totals"] + counts, ["all"] + breakdown(report.totals)])
        tables.append(grouped("channel", report.byChannel))
        tables.append(grouped("message_type", report.byMessageType, extra: true))
        tables.append(grouped("provider", report.byProvider))
        tables.append([["status", "communications"]] + report.byStatus.keys.sorted().map { [$0, String(report.byStatus[$0] ?? 0)] })
        tables.append([["latency_channel", "measure", "count", "p50_ms", "p95_ms", "p99_ms"]] + report.latency.keys.sorted().flatMap { channel in
            (report.latency[channel] ?? [:]).keys.sorted().compactMap { measure -> [String]? in
                guard let value = report.latency[channel]?[measure] else { return nil }
                return [channel, measure, String(value.count)] + [value.p50, value.p95, value.p99].map { $0.map(String.init) ?? "" }
            }
        })
        tables.append([["fallback_from", "to", "count"]] + report.fallbacks.map { [$0.from, $0.to, String($0.count)] })
        tables.append([["retries"], [String(report.retries)]])
        tables.append([["failure_provider", "category", "count"]] + report.topFailures.keys.sorted().flatMap { provider in
            (report.topFailures[provider] ?? []).map { [provider, $0.category, String($0.count)] }
        })
        tables.append([["stalled_channel", "count"]] + report.stalled.byChannel.keys.sorted().map { [$0, String(report.stalled.byChannel[$0] ?? 0)] })
        tables.append([["opt_out_channel", "source", "count"]] + report.optOuts.map { [$0.channel, $0.source, String($0.count)] })
        tables.append([["series_start"] + counts] + report.series.map { [WireJSON.format($0.start)] + breakdown($0.breakdown) })
        tables.append([["target_metric", "channel", "target", "actual", "met"]] + report.targets.map { target in
            [target.metric, target.channel ?? "all", rate(target.target), target.actual.map(rate) ?? "", target.met.map { $0 ? "yes" : "no" } ?? ""]
        })
        return tables.map { table in
            table.map { $0.map(RecordTable.csvField).joined(separator: ",") + "\r\n" }.joined()
        }.joined(separator: "\r\n")
    }

    private static func rate(_ value: Double) -> String {
        String(format: "%.6f", value)
    }
}
