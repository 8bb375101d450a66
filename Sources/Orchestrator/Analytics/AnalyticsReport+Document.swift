package import Foundation
package import Reports

extension AnalyticsReport {
    private static let channelNames = ["email": "Email", "sms": "SMS", "whatsapp": "WhatsApp"]

    /// The report as the renderers draw it (the PDF and the dashboard): headline rates beside their
    /// targets, counts, rates by channel and by message type, the series, and the tables.
    package func document(title: String = "Communication report") -> ReportDocument {
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")
        day.dateFormat = interval == "hour" ? "MMM d HH:mm" : "MMM d"
        let range = DateFormatter()
        range.locale = Locale(identifier: "en_US_POSIX")
        range.timeZone = day.timeZone
        range.dateFormat = "d MMM yyyy HH:mm"
        let stamp = ISO8601DateFormatter()

        func percent(_ value: Double) -> String { String(format: "%.1f %%", value * 100) }
        func bars(_ groups: [String: Breakdown]) -> [ReportDocument.Bar] {
            groups.sorted { $0.key < $1.key }.map { name, value in
                ReportDocument.Bar(label: name, values: [value.deliveryRate, value.openRate, value.clickRate])
            }
        }
        func breakdownTable(_ title: String, _ groups: [String: Breakdown]) -> ReportDocument.Table {
            ReportDocument.Table(
                title: title,
                columns: ["", "Communications", "Sent", "Delivered", "Opened", "Clicked", "Failed", "Bounced", "Delivery", "Open", "Click"],
                rows: groups.sorted { $0.key < $1.key }.map { name, value in
                    [name] + [value.communications, value.sent, value.delivered, value.opened, value.clicked, value.failed, value.bounced].map(String.init)
                        + [value.deliveryRate, value.openRate, value.clickRate].map(percent)
                }
            )
        }
        let headlines: [ReportDocument.Headline] = [
            ("Delivery rate", totals.deliveryRate, "delivery_rate"), ("Open rate", totals.openRate, "open_rate"),
            ("Click rate", totals.clickRate, "click_rate"),
        ].map { label, value, metric in
            let target = targets.first { $0.metric == metric && $0.channel == nil }
            return ReportDocument.Headline(label: label, value: value, target: target?.target, met: target?.met)
        } + targets.filter { $0.channel != nil }.map { target in
            ReportDocument.Headline(
                label: "\(Self.channelNames[target.channel ?? ""] ?? target.channel ?? "") \(target.metric.replacingOccurrences(of: "_", with: " "))",
                value: target.actual ?? 0,
                target: target.target, met: target.met
            )
        }
        var tables = [breakdownTable("By channel", byChannel), breakdownTable("By message type", byMessageType), breakdownTable("By provider", byProvider)]
        tables.append(ReportDocument.Table(
            title: "Latency (ms, nearest rank)", columns: ["Channel", "Measure", "Count", "p50", "p95", "p99"],
            rows: latency.sorted { $0.key < $1.key }.flatMap { channel, measures in
                measures.sorted { $0.key < $1.key }.map { measure, value in
                    [channel, measure.replacingOccurrences(of: "_", with: " "), String(value.count)]
                        + [value.p50, value.p95, value.p99].map { $0.map(String.init) ?? "–" }
                }
            }
        ))
        tables.append(ReportDocument.Table(
            title: "Fallbacks", columns: ["From", "To", "Communications"], rows: fallbacks.map { [$0.from, $0.to, String($0.count)] }
        ))
        tables.append(ReportDocument.Table(
            title: "Top failures", columns: ["Provider", "Category", "Attempts"],
            rows: topFailures.sorted { $0.key < $1.key }.flatMap { provider, failures in failures.map { [provider, $0.category, String($0.count)] } }
        ))
        tables.append(ReportDocument.Table(
            title: "Opt-outs", columns: ["Channel", "Source", "Count"], rows: optOuts.map { [$0.channel, $0.source, String($0.count)] }
        ))
        tables.append(ReportDocument.Table(
            title: "In flight too long", columns: ["Channel", "Communications"],
            rows: stalled.byChannel.sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] }
        ))
        return ReportDocument(
            title: title,
            period: "\(range.string(from: start)) – \(range.string(from: end)) (\(timeZone))",
            generatedAt: stamp.string(from: generatedAt),
            headlines: headlines,
            counts: [
                ("Communications", totals.communications), ("Sent", totals.sent), ("Delivered", totals.delivered), ("Opened", totals.opened),
                ("Clicked", totals.clicked), ("Failed", totals.failed), ("Bounced", totals.bounced), ("Retries", retries),
            ].map { ReportDocument.Count(label: $0.0, value: $0.1) },
            barSeries: ["Delivery", "Open", "Click"],
            byChannel: bars(byChannel),
            byMessageType: bars(byMessageType),
            daily: series.map { ReportDocument.Point(label: day.string(from: $0.start), sent: $0.breakdown.sent, delivered: $0.breakdown.delivered) },
            tables: tables.filter { !$0.rows.isEmpty }
        )
    }
}
