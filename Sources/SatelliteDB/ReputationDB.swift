import Foundation

/// A node's audit standing as stored: its alpha and beta (nil before its first audit), its audits
/// passed or failed and the ones passed, its unknown-error alpha and beta (nil before a success or
/// an unknown error first moved them), and when it was disqualified or suspended.
public struct AuditStanding: Sendable, Equatable {
    public let alpha: Double?
    public let beta: Double?
    public let successes: Int
    public let count: Int
    public let unknownAlpha: Double?
    public let unknownBeta: Double?
    public let disqualifiedAt: Date?
    public let suspendedAt: Date?

    public init(alpha: Double?, beta: Double?, successes: Int, count: Int, unknownAlpha: Double?, unknownBeta: Double?, disqualifiedAt: Date?, suspendedAt: Date?) {
        self.alpha = alpha
        self.beta = beta
        self.successes = successes
        self.count = count
        self.unknownAlpha = unknownAlpha
        self.unknownBeta = unknownBeta
        self.disqualifiedAt = disqualifiedAt
        self.suspendedAt = suspendedAt
    }
}

/// What one audit found of a node.
public enum AuditVerdict: Sendable, Equatable {
    case success
    case failure
    /// An error that is neither the node being offline nor proof that it lost the data.
    case unknown
}

/// The nodes one ``ReputationDB/recordAudits(_:at:update:)`` call changed the standing of.
public struct StandingChanges: Sendable, Equatable {
    public var disqualified: [Data] = []
    public var suspended: [Data] = []
    public var unsuspended: [Data] = []

    public init() {}
}

/// A node's two scales as an update reads them, and as it writes them back (nil: not started,
/// or left as it is).
public struct ReputationScales: Sendable, Equatable {
    public var auditAlpha: Double?
    public var auditBeta: Double?
    public var unknownAlpha: Double?
    public var unknownBeta: Double?

    public init(auditAlpha: Double? = nil, auditBeta: Double? = nil, unknownAlpha: Double? = nil, unknownBeta: Double? = nil) {
        self.auditAlpha = auditAlpha
        self.auditBeta = auditBeta
        self.unknownAlpha = unknownAlpha
        self.unknownBeta = unknownBeta
    }
}

/// The nodes' reputations.
public protocol ReputationDB: Sendable {
    /// Applies one audit of each node, in order, in one write transaction: `update` takes the
    /// node's scales and the verdict, and answers the new scales and whether the node is now
    /// disqualified and whether it is suspended. A success or a failure counts as an audit (what
    /// vetting counts); an unknown error does not. A node disqualified before stays as it was.
    func recordAudits(
        _ outcomes: [(node: Data, verdict: AuditVerdict)], at: Date,
        update: @escaping @Sendable (ReputationScales, AuditVerdict) -> (scales: ReputationScales, disqualify: Bool, suspend: Bool)
    ) async throws -> StandingChanges
    func auditStanding(of node: Data) async throws -> AuditStanding?
}

/// A node's pending audit (Storj's containment): the piece whose share it did not send in time,
/// asked for again, whole, until it answers or has timed out `reverifications` more times.
public struct PendingAudit: Sendable, Equatable {
    public let node: Data
    public let streamID: Data
    public let position: Int
    public let pieceNumber: Int
    public let reverifications: Int

    public init(node: Data, streamID: Data, position: Int, pieceNumber: Int, reverifications: Int = 0) {
        self.node = node
        self.streamID = streamID
        self.position = position
        self.pieceNumber = pieceNumber
        self.reverifications = reverifications
    }
}

/// The contained nodes: at most one pending audit a node.
public protocol ContainmentDB: Sendable {
    /// Contains the node with `audit`, unless it is contained already; whether it was added.
    func contain(_ audit: PendingAudit, at: Date) async throws -> Bool
    func pendingAudits() async throws -> [PendingAudit]
    /// Counts one more timed-out reverification; the count now.
    func countReverification(of node: Data) async throws -> Int
    func release(_ node: Data) async throws
}
