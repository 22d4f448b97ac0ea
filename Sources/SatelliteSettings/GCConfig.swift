import SatelliteConfig

/// The `gc` section: garbage collection of the pieces nothing references.
public struct GCConfig: ConfigSection, Equatable {
    /// Time between collections; nil collects only when triggered (tests).
    public var interval: Duration? = .seconds(24 * 3600)
    /// Of the unreferenced pieces, the share (percent) a filter lets a node keep until the next collection.
    public var falsePositivePercent = 10
    public var grace: Duration = .seconds(24 * 3600)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .interval("interval", \.interval, help: "time between garbage collections (a filter to every online node); 0s collects only when triggered"),
        .int(
            "false-positive-percent", \.falsePositivePercent,
            help: "percent of unreferenced pieces a filter lets a node keep until the next collection; smaller is a larger filter", range: 1 ... 50
        ),
        .duration(
            "grace", \.grace, help: "pieces a node stored less than this before a collection began are kept whatever the filter says (uploads not yet committed)",
            range: .zero ... .seconds(86400 * 30)
        ),
    ]
}
