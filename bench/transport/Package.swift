// swift-tools-version: 6.1
// The piece protocol's transport, measured: HTTP/1.1 on Hummingbird (what the storage node
// serves) beside gRPC on grpc-swift-2 over HTTP/2, with the same file sink. A package of its own,
// so that neither the satellite's build nor CI builds gRPC. Run it through `scripts/bench transport`.
import PackageDescription

let package = Package(
    name: "transport-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
    ],
    targets: [
        .executableTarget(
            name: "transport-bench",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
