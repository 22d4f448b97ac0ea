import SatelliteConfig

/// The `audit` section.
public struct AuditConfig: ConfigSection, Equatable {
    /// Time between passes; nil audits only when triggered (tests).
    public var interval: Duration? = .seconds(30)
    public var segmentsPerPass = 10
    public var shareTimeout: Duration = .seconds(15)
    /// Timed-out reverifications of a contained node's pending audit that count as a failure.
    public var maxReverifications = 3

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .interval("interval", \.interval, help: "time between audit passes; 0s audits only when triggered"),
        .int("segments-per-pass", \.segmentsPerPass, help: "segments audited a pass, each from a different node's sample", range: 1 ... 10_000),
        .duration("share-timeout", \.shareTimeout, help: "how long a node may take to send an audited share", range: .seconds(1) ... .seconds(600)),
        .int(
            "max-reverifications", \.maxReverifications,
            help: "timed-out reverifications of a contained node's pending audit that count as one failure", range: 1 ... 100
        ),
    ]
}
