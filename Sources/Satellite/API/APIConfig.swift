import PeerRuntime
import SatelliteConfig

/// The `api` section: where the API peer serves storage nodes and clients.
public struct APIConfig: ConfigSection {
    public var address: String = "127.0.0.1:7777"
    public var connectionLimits = ConnectionLimits()

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .address("address", \.address, help: "address the API peer listens on for nodes and clients"),
        .duration(
            "header-timeout", \.connectionLimits.headerTimeout, help: "a connection that has not sent its request's headers this long after it opened is closed",
            range: .milliseconds(100) ... .seconds(3600)
        ),
        .duration(
            "idle-timeout", \.connectionLimits.idleTimeout, help: "a keep-alive connection with no request in flight is closed after this long",
            range: .milliseconds(100) ... .seconds(86400)
        ),
        .int(
            "max-connections", \.connectionLimits.maxConnections,
            help: "most connections open at once; past it the one idle longest is closed; 0 keeps 256 descriptors below the process's limit",
            range: 0 ... 10_000_000
        ),
    ]
}
