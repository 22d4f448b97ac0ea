import Identity
import SatelliteConfig

/// The `contact` section: the satellite the node serves and trusts, and how it is reached.
public struct NodeContactConfig: ConfigSection, Equatable {
    /// The satellite's API, as `http://203.0.113.5:7777`.
    public var satelliteURL = "http://127.0.0.1:7777"
    /// The id the satellite's key proves (`satellite setup` prints it); the node trusts no other.
    public var satelliteID = ""
    /// Where the satellite and uplinks reach this node, host:port; empty: the piece server's
    /// address as it listens (right on one machine, where it binds a loopback address).
    public var externalAddress = ""
    /// Time between check-ins.
    public var interval: Duration? = .seconds(3600)
    /// How long a check-in may take.
    public var timeout: Duration = .seconds(10)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .string("satellite-url", \.satelliteURL, help: "the satellite's API, as http://203.0.113.5:7777", validate: { text in
            text.hasPrefix("http://") || text.hasPrefix("https://") ? nil : "an http:// or https:// URL"
        }),
        .string("satellite-id", \.satelliteID, help: "the id of the satellite this node trusts, as `satellite setup` printed it", validate: { text in
            text.isEmpty || NodeID(hex: text) != nil ? nil : "64 lowercase hexadecimal digits"
        }),
        .string("external-address", \.externalAddress, help: "host:port where the satellite and uplinks reach this node; empty: server.address as it listens", validate: { text in
            text.isEmpty || text.contains(":") ? nil : "host:port"
        }),
        .interval("interval", \.interval, help: "time between check-ins; 0s checks in only at start"),
        .duration("timeout", \.timeout, help: "how long a check-in may take", range: .milliseconds(100) ... .seconds(600)),
    ]
}
