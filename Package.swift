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
        .executable(name: "satellite", targets: ["satellite-cli"]),
        .library(name: "Lifecycle", targets: ["Lifecycle"]),
        .library(name: "Satellite", targets: ["Satellite"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
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
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "SatelliteConfig",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(
            name: "SatelliteDB",
            dependencies: [
                "SatelliteConfig",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Satellite",
            dependencies: [
                "Lifecycle",
                "SatelliteConfig",
                "SatelliteDB",
                "StructuredLogging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "satellite-cli",
            dependencies: [
                "Satellite",
                "SatelliteConfig",
                "SatelliteDB",
                "StructuredLogging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "LifecycleTests", dependencies: ["Lifecycle"], swiftSettings: strict),
        .testTarget(name: "SatelliteConfigTests", dependencies: ["SatelliteConfig"], swiftSettings: strict),
        .testTarget(name: "SatelliteDBTests", dependencies: ["SatelliteDB", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: strict),
        .testTarget(name: "StructuredLoggingTests", dependencies: ["StructuredLogging"], swiftSettings: strict),
        .testTarget(name: "CLITests", dependencies: ["satellite-cli"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
