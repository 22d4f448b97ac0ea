import SatelliteConfig

/// The `checker` section: the Core peer's scan for segments that need repair.
public struct CheckerConfig: ConfigSection, Equatable {
    /// Time between passes; nil runs a pass only when triggered (tests).
    public var interval: Duration? = .seconds(30)
    public var batchSize = 1000

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .interval("interval", \.interval, help: "time between passes over every segment; 0s runs passes only when triggered"),
        .int("batch-size", \.batchSize, help: "segments read per query during a pass", range: 1 ... 100_000),
    ]
}

/// The `repairer` section: the Repairer peer's worker.
public struct RepairerConfig: ConfigSection, Equatable {
    /// Time between claims of new work; nil claims only when triggered (tests).
    public var interval: Duration? = .seconds(10)
    public var maxConcurrent = 5
    /// A claim older than this may be claimed again: a repairer killed mid-repair loses nothing.
    public var lease: Duration = .seconds(30 * 60)
    /// How long one piece transfer of a repair may take (Storj: 5 minutes).
    public var timeout: Duration = .seconds(5 * 60)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .interval("interval", \.interval, help: "time between claims of queued segments; 0s claims only when triggered"),
        .int("max-concurrent", \.maxConcurrent, help: "segments repaired at once", range: 1 ... 1000),
        .duration("lease", \.lease, help: "a claim older than this may be claimed again, so a repairer that died loses nothing", range: .seconds(1) ... .seconds(86400)),
        .duration("timeout", \.timeout, help: "how long one piece download or upload of a repair may take", range: .seconds(1) ... .seconds(3600)),
    ]
}
