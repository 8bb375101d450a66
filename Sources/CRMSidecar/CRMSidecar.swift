import ArgumentParser

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
        subcommands: [Serve.self, Migrate.self, Check.self, ValidateConfig.self, Purge.self, RotateKey.self],
        defaultSubcommand: Serve.self
    )
}
