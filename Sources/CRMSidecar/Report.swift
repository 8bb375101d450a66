import Foundation

/// The report of `check`, `validate-config` and `purge`, and the text of `--help` and `--version`, on
/// stdout.
///
/// Those are not JSON-RPC sessions, so their report goes where a shell user looks for it.
/// This is the one place outside the RPC transport that writes to stdout, and `serve` never calls it:
/// while serving, stdout carries the protocol only.
enum Report {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
