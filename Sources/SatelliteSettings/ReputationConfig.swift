import SatelliteConfig

/// The `reputation` section: Storj's beta model of a node's audits, with Storj's defaults
/// (satellite/reputation/config.go).
public struct ReputationConfig: ConfigSection, Equatable {
    public var initialAlpha = 1000.0
    public var initialBeta = 0.0
    public var lambda = 0.999
    public var weight = 1.0
    public var disqualificationThreshold = 0.96
    public var unknownInitialAlpha = 1.0
    public var unknownInitialBeta = 0.0
    public var unknownLambda = 0.95
    public var unknownWeight = 1.0
    public var suspensionThreshold = 0.6

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .double("initial-alpha", \.initialAlpha, help: "a new node's audit alpha: the successes it starts with", range: 0 ... 1_000_000),
        .double("initial-beta", \.initialBeta, help: "a new node's audit beta: the failures it starts with", range: 0 ... 1_000_000),
        .double("lambda", \.lambda, help: "how much of its history each audit keeps (forgetting factor)", range: 0 ... 1),
        .double("weight", \.weight, help: "what one audit adds to alpha (success) or beta (failure)", range: 0 ... 1_000),
        .double(
            "disqualification-threshold", \.disqualificationThreshold, help: "a node whose score alpha/(alpha+beta) falls to this or below is disqualified",
            range: 0 ... 1
        ),
        .double("unknown-initial-alpha", \.unknownInitialAlpha, help: "a new node's alpha on the scale of audits that ended in an unknown error", range: 0 ... 1_000_000),
        .double("unknown-initial-beta", \.unknownInitialBeta, help: "a new node's beta on the scale of audits that ended in an unknown error", range: 0 ... 1_000_000),
        .double("unknown-lambda", \.unknownLambda, help: "how much of its history each audit keeps on the unknown-error scale", range: 0 ... 1),
        .double("unknown-weight", \.unknownWeight, help: "what one success or unknown error adds on the unknown-error scale", range: 0 ... 1_000),
        .double(
            "suspension-threshold", \.suspensionThreshold,
            help: "a node whose unknown-error score falls to this or below is suspended (offered for nothing, its pieces still counted) until it rises above",
            range: 0 ... 1
        ),
    ]
}
