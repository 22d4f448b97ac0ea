import PeerRuntime
import SatelliteConfig

/// The `server` section: where the node serves the piece protocol.
public struct PieceServerConfig: ConfigSection, Equatable {
    public var address: String = "127.0.0.1:28967"
    public var connectionLimits = ConnectionLimits()
    /// How far an order limit's creation may be from the node's clock.
    public var orderClockSkew: Duration = .seconds(3600)
    /// The most serials of served order limits remembered until they expire.
    public var maxUsedSerials = 1_000_000

    public init() {}

    public static let fields: [ConfigField<Self>] =
        [
            .address("address", \.address, help: "address the node serves pieces on (its contact.external-address, as others reach it)"),
            .duration("order-clock-skew", \.orderClockSkew, help: "how far an order limit's creation may be from this node's clock", range: .seconds(1) ... .seconds(86400)),
            .int("max-used-serials", \.maxUsedSerials, help: "most serials of served order limits remembered (a serial is good once); past it those closest to expiring go", range: 1000 ... 100_000_000),
        ]
        + ConnectionLimits.fields(at: \.connectionLimits, prefix: "")
}
