import SatelliteConfig

/// The `tally` section.
public struct TallyConfig: ConfigSection, Equatable {
    public var interval: Duration? = .seconds(3600)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .interval("interval", \.interval, help: "time between bucket tallies; 0s tallies only when triggered"),
    ]
}
