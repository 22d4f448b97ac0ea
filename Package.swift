// swift-tools-version: 6.1
import PackageDescription

/// Swift 6 mode (set for the package below) already checks concurrency completely.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Satellite",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "satellite", targets: ["satellite-launcher"]),
        .executable(name: "satellite-cli", targets: ["satellite-cli"]),
        .executable(name: "satellite-exec", targets: ["satellite-exec"]),
        .executable(name: "storagenode", targets: ["storagenode-cli"]),
        .executable(name: "uplink", targets: ["uplink-cli"]),
        .library(name: "Lifecycle", targets: ["Lifecycle"]),
        .library(name: "ErasureCoding", targets: ["ErasureCoding"]),
        .library(name: "Supervision", targets: ["Supervision"]),
        .library(name: "PeerRuntime", targets: ["PeerRuntime"]),
        .library(name: "Satellite", targets: ["Satellite"]),
        .library(name: "TestPlanet", targets: ["TestPlanet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CISAL",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
        ),
        .target(name: "CSupport"),
        // Storj's Reed–Solomon erasure code on ISA-L, with a plain Swift reference; knows nothing of satellites.
        .target(name: "ErasureCoding", dependencies: ["CISAL"], swiftSettings: strict),
        // Peers' Ed25519 identities: key files, ids derived from keys, signatures; hexadecimal.
        .target(name: "Identity", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        // The signed messages between satellite, storage nodes and uplinks: check-ins (and, next,
        // order limits and piece hashes); for every kind of peer.
        .target(name: "NodeProtocol", dependencies: ["Identity", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .testTarget(name: "NodeProtocolTests", dependencies: ["NodeProtocol", "Identity"], swiftSettings: strict),
        // Signed check-in bodies for bench/api_load.py (wrk's Lua cannot sign).
        .executableTarget(
            name: "checkin-bodies", dependencies: ["Identity", "NodeProtocol", .product(name: "Crypto", package: "swift-crypto")], path: "bench/checkin-bodies",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "commit-flow", dependencies: ["Identity", "NodeProtocol", .product(name: "Crypto", package: "swift-crypto")], path: "bench/commit-flow",
            swiftSettings: strict
        ),
        // `scripts/bench pieces`: the piece protocol against a storagenode process, beside dd.
        .executableTarget(
            name: "piece-bench", dependencies: ["Identity", "NodeProtocol", .product(name: "Crypto", package: "swift-crypto")],
            path: "bench/piece-bench", swiftSettings: strict
        ),
        // `scripts/bench erasure`: the erasure code beside raw ISA-L and the plain Swift path.
        .executableTarget(name: "erasure-bench", dependencies: ["ErasureCoding", "CISAL"], path: "bench/erasure-bench", swiftSettings: strict),
        // Durations and sizes as the configuration writes them (`1m0s`, `64MiB`).
        .target(name: "Units", swiftSettings: strict),
        // Plain C, linked statically: the driver names the Swift runtime, libstdc++ and libm
        // before any flag of ours (so --as-needed never dropped them), and loading them cost every
        // child 0.9 ms in the dynamic loader; a static executable has no loader at all.
        .executableTarget(name: "satellite-exec", linkerSettings: [.unsafeFlags(["-static-executable"])]),
        // `satellite`: the launcher, which reads `run`'s configuration itself with no Foundation
        // and hands every other command to satellite-cli. Linked statically: no dynamic loader
        // at each start (`--version` 2.0 ms dynamic, 1.0 static; `/bin/true` 0.9).
        .executableTarget(
            name: "satellite-launcher",
            dependencies: [
                "CSupport", "PlainYAML", "SatelliteConfig", "SatelliteSettings", "Supervision", "StructuredLogging",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict,
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        .target(
            name: "Supervision",
            dependencies: [
                "CSupport",
                "StructuredLogging",
                "Units",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Lifecycle",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "StructuredLogging",
            dependencies: ["CSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "SatelliteConfig",
            dependencies: ["Units"],
            swiftSettings: strict
        ),
        .systemLibrary(name: "CLibYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // The plain YAML of a configuration file through libyaml, with no Foundation, for a lean `run`.
        .target(name: "PlainYAML", dependencies: ["CLibYAML", "SatelliteConfig"], swiftSettings: strict),
        // Reading configuration files through Yams, apart from the schema.
        .target(name: "ConfigYAML", dependencies: ["SatelliteConfig", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        // The launch: the `processes` and `supervisor` sections, their mapping onto process specs,
        // and the hand-over to the launcher; for any kind of peer.
        .target(
            name: "Launch",
            dependencies: ["CSupport", "SatelliteConfig", "StructuredLogging", "Supervision", "Units"],
            swiftSettings: strict
        ),
        // Each subsystem's storage as a protocol, with plain records: no database's types.
        .target(name: "SatelliteDB", dependencies: ["SatelliteConfig"], swiftSettings: strict),
        // The embedded backend: one SQLite file (GRDB), its blocking calls on threads of its own.
        .target(
            name: "SatelliteDBSQLite",
            dependencies: ["PeerRuntime", "SatelliteDB", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // The server backend: PostgreSQL through postgres-nio's pooled client, async all the way.
        .target(
            name: "SatelliteDBPostgres",
            dependencies: ["SatelliteDB", "SatelliteSettings", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // Opens the backend `database.url` names; the one place that knows them all.
        .target(
            name: "SatelliteDatabases", dependencies: ["PeerRuntime", "SatelliteConfig", "SatelliteDB", "SatelliteSettings", "SatelliteDBSQLite", "SatelliteDBPostgres"],
            swiftSettings: strict
        ),
        // The API's types and routing, generated from openapi.yaml by scripts/generate-openapi
        // and committed, so a clean build does not build the generator.
        .target(
            name: "SatelliteAPI",
            dependencies: [.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            exclude: ["openapi-generator-config.yaml"],
            resources: [.copy("openapi.yaml")],
            // The generator writes `public import`s that some files do not need; the warnings are
            // about code we do not write, so they are silenced here and nowhere else.
            swiftSettings: [.unsafeFlags(["-suppress-warnings"])]
        ),
        // The sections every kind of peer shares (log, debug, a server's connection limits), with
        // no Foundation.
        .target(
            name: "PeerConfig",
            dependencies: ["SatelliteConfig", "StructuredLogging", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // Every key of the satellite and the launch they describe, with no Foundation: what the
        // lean `satellite run` reads, and what the peers' modules take their sections from.
        .target(
            name: "SatelliteSettings",
            dependencies: ["CSupport", "Launch", "PeerConfig", "SatelliteConfig", "StructuredLogging", "Supervision", "Units", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // What every kind of peer is built on; knows nothing of satellites.
        .target(
            name: "PeerRuntime",
            dependencies: [
                "CSupport",
                "PeerConfig",
                "Lifecycle",
                "Supervision",
                "SatelliteConfig",
                "StructuredLogging",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // What the executables of every peer kind share: configuration options and process logging.
        .target(
            name: "PeerCommandLine",
            dependencies: [
                "ConfigYAML", "PeerRuntime", "SatelliteConfig", "StructuredLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Satellite",
            dependencies: [
                "CSupport",
                "ErasureCoding",
                "Identity",
                "Launch",
                "NodeProtocol",
                "Lifecycle",
                "PeerRuntime",
                "PieceTransfer",
                "Supervision",
                "SatelliteConfig",
                "SatelliteDB",
                "SatelliteSettings",
                "StructuredLogging",
                "SatelliteAPI",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        // The piece protocol's client, for uplinks and the satellite's repairer.
        .target(
            name: "PieceTransfer",
            dependencies: [
                "NodeProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The client of a satellite and its storage nodes: encryption, erasure coding, transfers.
        .target(
            name: "Uplink",
            dependencies: [
                "ErasureCoding", "Identity", "NodeProtocol", "PieceTransfer", "SatelliteAPI",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "uplink-cli",
            dependencies: ["Uplink", "Identity", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "UplinkTests", dependencies: ["Uplink", "ErasureCoding", "Identity", "NodeProtocol", "Lifecycle", "PeerRuntime", "Satellite", "SatelliteDB", "StorageNode", "Supervision", "TestPlanet", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // The storage node: a peer kind of its own on PeerRuntime, beside the satellite's.
        .target(
            name: "StorageNode",
            dependencies: [
                "Identity", "Lifecycle", "NodeProtocol", "PeerRuntime", "SatelliteConfig", "StructuredLogging",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TestPlanet",
            dependencies: [
                "Identity", "NodeProtocol", "Satellite", "StorageNode", "PeerRuntime", "SatelliteDB", "SatelliteDBPostgres", "SatelliteDatabases", "Lifecycle", "Supervision",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "satellite-cli",
            dependencies: [
                "Identity",
                "StorageNode",
                "Uplink",
                "PeerCommandLine",
                "Satellite",
                "Launch",
                "PeerRuntime",
                "Supervision",
                "satellite-exec",
                "satellite-launcher",
                "CSupport",
                "SatelliteConfig",
                "SatelliteDB",
                "SatelliteDatabases",
                "StructuredLogging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "storagenode-cli",
            dependencies: [
                "Identity", "PeerCommandLine", "PeerRuntime", "SatelliteConfig", "StorageNode",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "LifecycleTests", dependencies: ["Lifecycle"], swiftSettings: strict),
        .testTarget(
            name: "StorageNodeTests",
            dependencies: [
                "StorageNode", "Identity", "NodeProtocol", "PeerRuntime", "SeededRandom",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "IdentityTests", dependencies: ["Identity", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        // The tests' seeded random numbers, so a run repeats exactly.
        .target(name: "SeededRandom", path: "Tests/SeededRandom", swiftSettings: strict),
        .testTarget(name: "ErasureCodingTests", dependencies: ["ErasureCoding", "SeededRandom", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .testTarget(
            name: "SupervisionTests",
            dependencies: ["Supervision", "satellite-exec", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PeerRuntimeTests",
            dependencies: ["PeerRuntime", "Lifecycle", "SatelliteConfig", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"), .product(name: "Prometheus", package: "swift-prometheus"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strict
        ),
        .testTarget(name: "SatelliteConfigTests", dependencies: ["ConfigYAML", "PlainYAML", "SatelliteConfig", "SeededRandom", "Units"], swiftSettings: strict),
        .testTarget(
            name: "SatelliteTests",
            dependencies: ["Identity", "NodeProtocol", "Satellite", "StorageNode", "PeerRuntime", "TestPlanet", .product(name: "Crypto", package: "swift-crypto"), "SatelliteDB", "SatelliteDBSQLite", "SatelliteConfig", "ConfigYAML", "Lifecycle", "Supervision", "SatelliteAPI", .product(name: "Yams", package: "Yams"), .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"), .product(name: "Prometheus", package: "swift-prometheus")],
            swiftSettings: strict
        ),
        .testTarget(name: "SatelliteSettingsTests", dependencies: ["SatelliteSettings"], swiftSettings: strict),
        .testTarget(name: "SatelliteDBTests", dependencies: ["SatelliteDB", "SatelliteSettings", "SatelliteDBSQLite", "SatelliteDBPostgres", "SatelliteDatabases", "PeerRuntime", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: strict),
        .testTarget(name: "StructuredLoggingTests", dependencies: ["StructuredLogging"], swiftSettings: strict),
        .testTarget(name: "CLITests", dependencies: ["satellite-cli", "storagenode-cli", "SatelliteDB", "SatelliteSettings", "SatelliteDBSQLite", "SatelliteDBPostgres", "Identity", "NodeProtocol", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
