import SatelliteConfig

/// The `contact` section: how storage nodes reach the satellite.
public struct ContactConfig: ConfigSection, Equatable {
    /// The least time between two accepted check-ins of one node.
    public var checkInInterval: Duration = .seconds(5)
    /// How far a check-in's `signed_at` may be from the satellite's clock.
    public var checkInClockSkew: Duration = .seconds(3600)
    /// Whether nodes may check in with loopback and private addresses (a network on one machine
    /// or a LAN, and the tests); never on a public satellite.
    public var allowPrivateAddresses = false
    /// Distinct nodes one source address may check in within ``sourceWindow``; 0 is no bound.
    public var maxNodesPerSource = 10
    /// Distinct nodes the addresses of one source network (/24 of IPv4, /64 of IPv6) may check in
    /// within ``sourceWindow``, so that a block of addresses is not a block of bounds; 0 is no bound.
    public var maxNodesPerSourceNetwork = 100
    public var sourceWindow: Duration = .seconds(3600)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .duration("checkin-interval", \.checkInInterval, help: "least time between two check-ins of one node; a sooner one is answered 429", range: .zero ... .seconds(86400)),
        .duration("checkin-clock-skew", \.checkInClockSkew, help: "how far a check-in's signed_at may be from this satellite's clock", range: .seconds(1) ... .seconds(7 * 86400)),
        .int("max-nodes-per-source", \.maxNodesPerSource, help: "distinct nodes one address may check in within source-window (a flood of invented ids comes from few places); 0 is no bound", range: 0 ... 1_000_000),
        .int(
            "max-nodes-per-source-network", \.maxNodesPerSourceNetwork,
            help: "distinct nodes the addresses of one network (/24 of IPv4, /64 of IPv6) may check in within source-window; 0 is no bound",
            range: 0 ... 1_000_000
        ),
        .duration("source-window", \.sourceWindow, help: "the window of max-nodes-per-source", range: .seconds(1) ... .seconds(30 * 86400)),
        .bool("allow-private-addresses", \.allowPrivateAddresses, help: "accept nodes on loopback and private addresses (one machine, a LAN, tests); off for a public satellite"),
    ]
}
