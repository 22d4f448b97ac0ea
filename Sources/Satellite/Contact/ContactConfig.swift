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

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .duration("checkin-interval", \.checkInInterval, help: "least time between two check-ins of one node; a sooner one is answered 429", range: .zero ... .seconds(86400)),
        .duration("checkin-clock-skew", \.checkInClockSkew, help: "how far a check-in's signed_at may be from this satellite's clock", range: .seconds(1) ... .seconds(7 * 86400)),
        .bool("allow-private-addresses", \.allowPrivateAddresses, help: "accept nodes on loopback and private addresses (one machine, a LAN, tests); off for a public satellite"),
    ]
}
