import Foundation
import SatelliteConfig
import SatelliteDB

/// The `reputation` section: Storj's beta model of a node's audits, with Storj's defaults
/// (satellite/reputation/config.go).
public struct ReputationConfig: ConfigSection, Equatable {
    public var initialAlpha = 1000.0
    public var initialBeta = 0.0
    public var lambda = 0.999
    public var weight = 1.0
    public var disqualificationThreshold = 0.96

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
    ]
}

/// A node's audit reputation (Storj's beta model, satellite/reputation/calculations.go): on a
/// success alpha ← λ·alpha + w and beta ← λ·beta; on a failure alpha ← λ·alpha and
/// beta ← λ·beta + w; the score is alpha / (alpha + beta). From a clean start with the defaults,
/// 41 failures in a row take it to 0.9598, at or below 0.96: disqualified.
public struct Reputation: Sendable, Equatable {
    public var alpha: Double
    public var beta: Double

    public init(alpha: Double, beta: Double) {
        self.alpha = alpha
        self.beta = beta
    }

    /// A node's reputation before its first audit.
    public init(starting config: ReputationConfig) {
        self.init(alpha: config.initialAlpha, beta: config.initialBeta)
    }

    public var score: Double { alpha + beta > 0 ? alpha / (alpha + beta) : 1 }

    /// The reputation after one audit.
    public func after(success: Bool, _ config: ReputationConfig) -> Reputation {
        success
            ? Reputation(alpha: config.lambda * alpha + config.weight, beta: config.lambda * beta)
            : Reputation(alpha: config.lambda * alpha, beta: config.lambda * beta + config.weight)
    }

    public func isDisqualified(_ config: ReputationConfig) -> Bool {
        score <= config.disqualificationThreshold
    }
}

/// Audit outcomes into the nodes' reputations: each applied with ``Reputation/after(success:_:)``,
/// and a node whose score falls to the threshold disqualified, which takes it out of node
/// selection and makes its pieces count as lost, so the checker queues their segments for repair.
public struct ReputationService: Sendable {
    public let config: ReputationConfig
    let db: any ReputationDB

    public init(config: ReputationConfig, db: any ReputationDB) {
        self.config = config
        self.db = db
    }

    /// Records each audit; returns the nodes it disqualified.
    public func record(_ outcomes: [(node: Data, success: Bool)], at now: Date = Date()) throws -> [Data] {
        let config = self.config
        return try db.recordAudits(outcomes, at: now) { alpha, beta, success in
            let before = Reputation(alpha: alpha ?? config.initialAlpha, beta: beta ?? config.initialBeta)
            let after = before.after(success: success, config)
            return (after.alpha, after.beta, after.isDisqualified(config))
        }
    }
}
