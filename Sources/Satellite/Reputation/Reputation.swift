import Foundation
import SatelliteConfig
import SatelliteDB

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
        after(success: success, lambda: config.lambda, weight: config.weight)
    }

    /// The reputation after one audit on a scale of forgetting factor `lambda` and weight `weight`.
    public func after(success: Bool, lambda: Double, weight: Double) -> Reputation {
        success
            ? Reputation(alpha: lambda * alpha + weight, beta: lambda * beta)
            : Reputation(alpha: lambda * alpha, beta: lambda * beta + weight)
    }

    public func isDisqualified(_ config: ReputationConfig) -> Bool {
        score <= config.disqualificationThreshold
    }
}

/// Audit outcomes into the nodes' reputations, on Storj's two scales:
/// - successes and failures move the audit scale (``Reputation/after(success:_:)``), and a node
///   whose score falls to `disqualification-threshold` is disqualified, which takes it out of node
///   selection and makes its pieces count as lost, so the checker queues their segments;
/// - successes and unknown errors move the unknown-error scale (`unknown-lambda`,
///   `unknown-weight`), and a node whose score there is at or below `suspension-threshold` is
///   suspended: offered for nothing, its pieces still counted, until a success lifts it above.
///   From a steady clean state (alpha 20) ten unknown errors in a row suspend and nine do not.
public struct ReputationService: Sendable {
    public let config: ReputationConfig
    let db: any ReputationDB

    public init(config: ReputationConfig, db: any ReputationDB) {
        self.config = config
        self.db = db
    }

    /// Records each audit; returns the nodes it disqualified, suspended and released from
    /// suspension.
    public func record(_ outcomes: [(node: Data, verdict: AuditVerdict)], at now: Date = Date()) async throws -> StandingChanges {
        let config = self.config
        return try await db.recordAudits(outcomes, at: now) { stored, verdict in
            var audit = Reputation(alpha: stored.auditAlpha ?? config.initialAlpha, beta: stored.auditBeta ?? config.initialBeta)
            var unknown = Reputation(alpha: stored.unknownAlpha ?? config.unknownInitialAlpha, beta: stored.unknownBeta ?? config.unknownInitialBeta)
            var scales = ReputationScales()
            switch verdict {
            case .success, .failure:
                audit = audit.after(success: verdict == .success, config)
                scales.auditAlpha = audit.alpha
                scales.auditBeta = audit.beta
            case .unknown:
                break
            }
            if verdict != .failure {
                unknown = unknown.after(success: verdict == .success, lambda: config.unknownLambda, weight: config.unknownWeight)
                scales.unknownAlpha = unknown.alpha
                scales.unknownBeta = unknown.beta
            }
            return (scales, audit.isDisqualified(config), unknown.score <= config.suspensionThreshold)
        }
    }

    /// Records each audit as a success or a failure.
    public func record(_ outcomes: [(node: Data, success: Bool)], at now: Date = Date()) async throws -> StandingChanges {
        try await record(outcomes.map { (node: $0.node, verdict: $0.success ? AuditVerdict.success : .failure) }, at: now)
    }
}
