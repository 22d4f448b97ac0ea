import PeerConfig
import SatelliteConfig

/// The `api` section: where the API peer serves storage nodes and clients.
public struct APIConfig: ConfigSection {
    public var address: String = "127.0.0.1:7777"
    public var connectionLimits = ConnectionLimits()

    public init() {}

    public static let fields: [ConfigField<Self>] =
        [.address("address", \.address, help: "address the API peer listens on for nodes and clients")]
        + ConnectionLimits.fields(at: \.connectionLimits, prefix: "")
}
