// swift-tools-version:6.1
import PackageDescription

// The upcoming features keep each module's public surface small and its imports honest
// (see shared/STYLE.md, after hummingbird's own manifest).
let languageSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// `script/fuzz` sets CRM_SIDECAR_FUZZ: our own modules are then compiled with libFuzzer's coverage and
// AddressSanitizer, and one more executable, crm-sidecar-fuzz, holds the fuzz targets and links
// libFuzzer's main. The dependencies are built as always, so the fuzzer's attention stays on our code
// and a fuzz build reuses their objects.
let fuzzing = Context.environment["CRM_SIDECAR_FUZZ"] != nil
let sanitizers: [SwiftSetting] = fuzzing ? [.unsafeFlags(["-sanitize=fuzzer,address"])] : []
let swiftSettings = languageSettings + sanitizers

let fuzzTargets: [Target] = [
    .executableTarget(
        name: "CRMFuzz",
        dependencies: [
            "CRMModel", "Channels", "RPC",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ],
        path: "Tests/fuzz/CRMFuzz",
        swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])],
        linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    )
]

let package = Package(
    name: "crm-sidecar",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "crm-sidecar", targets: ["CRMSidecar"])
    ] + (fuzzing ? [.executable(name: "crm-sidecar-fuzz", targets: ["CRMFuzz"])] : []),
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // Domain value types: no I/O, no dependencies.
        .target(
            name: "CRMModel",
            swiftSettings: swiftSettings
        ),
        // SQLite's own VFS, but a commit's WAL frames go to the file in one write (see WALBatch.c).
        .target(
            name: "CSQLiteWALBatch",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        .target(
            name: "Persistence",
            dependencies: [
                "CRMModel",
                "CSQLiteWALBatch",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // libcurl for SMTP (STARTTLS, implicit TLS, AUTH, connection reuse), with typed wrappers for
        // its variadic calls.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(
            name: "Channels",
            dependencies: [
                "CRMModel",
                "CCurl",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // Templates are compiled into the binary so it runs from any directory it is copied to.
            resources: [.embedInCode("Templates")],
            swiftSettings: swiftSettings
        ),
        // cairo, which draws the analytics report to PDF and, with the same code, to SVG.
        .systemLibrary(
            name: "CCairo",
            pkgConfig: "cairo",
            providers: [.apt(["libcairo2-dev"])]
        ),
        // The analytics report rendered: a PDF a planner forwards, and the dashboard's page.
        .target(
            name: "Reports",
            dependencies: ["CCairo"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Orchestrator",
            dependencies: [
                "CRMModel",
                "Persistence",
                "Channels",
                "Reports",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The side port: provider webhooks, email opens, clicks and unsubscribes, /metrics, /health.
        .target(
            name: "Webhooks",
            dependencies: [
                "CRMModel",
                "Channels",
                "Orchestrator",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RPC",
            dependencies: [
                "CRMModel",
                "Orchestrator",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // schemas/openrpc.json is the single source of the wire format; the symlink beside the
            // sources lets `rpc.discover` answer with exactly that file.
            resources: [.embedInCode("openrpc.json")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CRMSidecar",
            dependencies: [
                "CRMModel",
                "Persistence",
                "Channels",
                "Orchestrator",
                "RPC",
                "Webhooks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CRMModelTests",
            dependencies: ["CRMModel"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RPCTests",
            dependencies: [
                "RPC", "CRMModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OrchestratorTests",
            dependencies: [
                "Orchestrator", "CRMModel", "Persistence", "Channels",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PersistenceTests",
            dependencies: [
                "Persistence", "CRMModel", "CSQLiteWALBatch",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChannelsTests",
            dependencies: [
                "Channels", "CRMModel",
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ] + (fuzzing ? fuzzTargets : [])
)
