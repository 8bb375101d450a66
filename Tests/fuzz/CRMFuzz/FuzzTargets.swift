import Foundation

/// The fuzz targets by name. Each takes the fuzzer's bytes and stops the process (a deadly signal
/// libFuzzer reports, with the input saved) when a property it checks does not hold; a thrown,
/// refused input is an answer, not a failure.
enum FuzzTargets {
    static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "lines": LinesTarget.run,
        "rpc": RPCTarget.run,
        "json": JSONTarget.run,
        "parser": ParserTarget.run,
        "params": ParamsTarget.run,
        "mime": MIMETarget.run,
        "twilio": TwilioTarget.run,
        "meta": MetaTarget.run,
        "links": LinkTokenTarget.run,
        "template": TemplateTarget.run,
    ]

    /// Read once, on the first input.
    static let selected: @Sendable ([UInt8]) -> Void = {
        let name = ProcessInfo.processInfo.environment["CRM_FUZZ_TARGET"] ?? ""
        guard let target = all[name] else {
            FileHandle.standardError.write(Data("CRM_FUZZ_TARGET must name a target: \(all.keys.sorted().joined(separator: ", "))\n".utf8))
            exit(2)
        }
        return target
    }()
}
