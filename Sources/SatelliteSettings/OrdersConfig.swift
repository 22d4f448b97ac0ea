import SatelliteConfig

/// The `orders` section: the order limits the API signs and the settlements it accepts.
public struct OrdersConfig: ConfigSection, Equatable {
    /// How long a signed limit stays good at the node.
    public var expiration: Duration = .seconds(24 * 3600)
    /// How long after a limit expired its order may still be settled.
    public var settlementGrace: Duration = .seconds(48 * 3600)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .duration("expiration", \.expiration, help: "how long an order limit the API signs stays good at the node", range: .seconds(60) ... .seconds(7 * 86400)),
        .duration(
            "settlement-grace", \.settlementGrace, help: "how long after its limit expired a node may still settle an order; later ones are refused",
            range: .zero ... .seconds(30 * 86400)
        ),
    ]
}
