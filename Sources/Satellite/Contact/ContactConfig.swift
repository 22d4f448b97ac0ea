import SatelliteConfig

/// The `contact` section: how storage nodes reach the satellite.
public struct ContactConfig: ConfigSection, Equatable {
    /// The least time between two accepted check-ins of one node.
    public var checkInInterval: Duration = .seconds(5)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .duration("checkin-interval", \.checkInInterval, help: "least time between two check-ins of one node; a sooner one is answered 429", range: .zero ... .seconds(86400)),
    ]
}
