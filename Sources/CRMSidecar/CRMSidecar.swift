import ArgumentParser
import Foundation

/// `crm-sidecar`: the communication engine an event-planning workflow spawns and talks to in
/// JSON-RPC 2.0 over stdin and stdout.
@main
struct CRMSidecar: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "crm-sidecar",
        abstract: "Line-delimited JSON-RPC 2.0 on stdin/stdout: sends email, SMS and WhatsApp messages for a workflow.",
        discussion: "Configuration comes from the environment and a .env file in the working directory:\n"
            + Configuration.documented.map { "  \($0.0): \($0.1)" }.joined(separator: "\n"),
        version: version,
        // Each names itself (commandName): ArgumentParser otherwise derives every subcommand's name
        // from `String(describing:)` of its type at each start, runtime lookups that were a few
        // percent of a start's CPU.
        subcommands: [Serve.self, Migrate.self, Check.self, ValidateConfig.self, Purge.self, RotateKey.self],
        defaultSubcommand: Serve.self
    )

    /// ArgumentParser's own `main`, except for how the process ends: with `_exit`, once stdout and
    /// stderr are flushed, not `exit`.
    ///
    /// `exit` runs every library's exit-time teardown (atexit handlers, C++ static destructors) while
    /// threads that never stop are still running: NIO's event loops, the side port's, the dispatch
    /// workers. exit(3) is not thread-safe, and a CI run once saw glibc report heap corruption on
    /// another thread while a sidecar that had stopped cleanly was exiting 0. When a command returns,
    /// everything it owes is written and durable; there is nothing left for that teardown to do.
    /// Skipped with it: whatever a sanitizer or coverage build would do at exit (LeakSanitizer's
    /// report, coverage files); the fuzz harness is a binary of its own and does not pass through here.
    static func main() async {
        var code = ExitCode.success
        do {
            var command = try await asyncParseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            // What `exit(withError:)` would print: help on stdout (no JSON-RPC session runs then),
            // a usage error on stderr. It prints to stdout exactly when the code is 0 (help,
            // --version, CleanExit); recheck this when ArgumentParser is upgraded
            // (MessageInfo.shouldExitCleanly).
            code = exitCode(for: error)
            let text = fullMessage(for: error)
            if !text.isEmpty {
                if code == .success {
                    Report.line(text)
                } else {
                    StandardError.write(Array((text + "\n").utf8))
                }
            }
        }
        StandardError.exitBetweenLines(code.rawValue)
    }
}
