import SatelliteConfig

/// The `deletion` section: removing objects whose time is up.
public struct DeletionConfig: ConfigSection, Equatable {
    public var interval: Duration? = .seconds(3600)
    public var batchSize = 1000

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .interval("interval", \.interval, help: "time between deletions of expired objects and abandoned uploads; 0s only when triggered"),
        .int("batch-size", \.batchSize, help: "objects deleted per transaction", range: 1 ... 100_000),
    ]
}
