import SatelliteConfig

/// The `debug` section: the health and metrics endpoint each peer can serve.
public struct DebugConfig: ConfigSection {
    public var address: String = ""

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .address("address", \.address, help: "address of /health/live, /health/ready and /metrics; empty turns it off", optional: true),
    ]
}
