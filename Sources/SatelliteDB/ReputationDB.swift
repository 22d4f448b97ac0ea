import Foundation
import GRDB

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
        update: (ReputationScales, AuditVerdict) -> (scales: ReputationScales, disqualify: Bool, suspend: Bool)
    ) throws -> StandingChanges
    func auditStanding(of node: Data) throws -> AuditStanding?
}

extension SatelliteDatabase: ReputationDB {
    public func recordAudits(
        _ outcomes: [(node: Data, verdict: AuditVerdict)], at: Date,
        update: (ReputationScales, AuditVerdict) -> (scales: ReputationScales, disqualify: Bool, suspend: Bool)
    ) throws -> StandingChanges {
        try pool.write { db in
            var changes = StandingChanges()
            for outcome in outcomes {
                guard let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT audit_alpha, audit_beta, disqualified_at, audit_count, unknown_alpha, unknown_beta, suspended_at FROM nodes WHERE id = ?"
                    ),
                    arguments: [outcome.node]
                ) else { continue }
                let audited = (row[3] as Int) > 0
                let stored = ReputationScales(
                    auditAlpha: audited ? row[0] : nil, auditBeta: audited ? row[1] : nil, unknownAlpha: row[4], unknownBeta: row[5]
                )
                let next = update(stored, outcome.verdict)
                let newlyDisqualified = next.disqualify && (row[2] as Date?) == nil
                let wasSuspended = (row[6] as Date?) != nil
                let counted = outcome.verdict != .unknown
                try db.cachedStatement(
                    sql: """
                        UPDATE nodes SET audit_alpha = COALESCE(?, audit_alpha), audit_beta = COALESCE(?, audit_beta),
                        unknown_alpha = COALESCE(?, unknown_alpha), unknown_beta = COALESCE(?, unknown_beta),
                        audit_count = audit_count + ?, audit_successes = audit_successes + ?,
                        disqualified_at = CASE WHEN ? THEN ? ELSE disqualified_at END,
                        suspended_at = CASE WHEN ? THEN COALESCE(suspended_at, ?) ELSE NULL END WHERE id = ?
                        """
                ).execute(arguments: [
                    next.scales.auditAlpha, next.scales.auditBeta, next.scales.unknownAlpha, next.scales.unknownBeta,
                    counted ? 1 : 0, outcome.verdict == .success ? 1 : 0, newlyDisqualified, at, next.suspend, at, outcome.node,
                ])
                if newlyDisqualified { changes.disqualified.append(outcome.node) }
                if next.suspend && !wasSuspended { changes.suspended.append(outcome.node) }
                if !next.suspend && wasSuspended { changes.unsuspended.append(outcome.node) }
            }
            return changes
        }
    }

    public func auditStanding(of node: Data) throws -> AuditStanding? {
        try pool.read { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT audit_alpha, audit_beta, audit_successes, audit_count, disqualified_at, unknown_alpha, unknown_beta, suspended_at
                        FROM nodes WHERE id = ?
                        """
                ),
                arguments: [node]
            ).map { row in
                let audited = (row[3] as Int) > 0
                return AuditStanding(
                    alpha: audited ? row[0] : nil, beta: audited ? row[1] : nil, successes: row[2], count: row[3], unknownAlpha: row[5], unknownBeta: row[6],
                    disqualifiedAt: row[4], suspendedAt: row[7]
                )
            }
        }
    }
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
    func contain(_ audit: PendingAudit, at: Date) throws -> Bool
    func pendingAudits() throws -> [PendingAudit]
    /// Counts one more timed-out reverification; the count now.
    func countReverification(of node: Data) throws -> Int
    func release(_ node: Data) throws
}

extension SatelliteDatabase: ContainmentDB {
    public func contain(_ audit: PendingAudit, at: Date) throws -> Bool {
        try pool.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO audit_containment (node_id, stream_id, position, piece_number, reverifications, contained_at)
                    VALUES (?, ?, ?, ?, 0, ?)
                    """
            ).execute(arguments: [audit.node, audit.streamID, audit.position, audit.pieceNumber, at])
            return db.changesCount == 1
        }
    }

    public func pendingAudits() throws -> [PendingAudit] {
        try pool.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT node_id, stream_id, position, piece_number, reverifications FROM audit_containment ORDER BY contained_at")
            ).map { PendingAudit(node: $0[0], streamID: $0[1], position: $0[2], pieceNumber: $0[3], reverifications: $0[4]) }
        }
    }

    public func countReverification(of node: Data) throws -> Int {
        try pool.write { db in
            try db.cachedStatement(sql: "UPDATE audit_containment SET reverifications = reverifications + 1 WHERE node_id = ?").execute(arguments: [node])
            return try Int.fetchOne(db.cachedStatement(sql: "SELECT reverifications FROM audit_containment WHERE node_id = ?"), arguments: [node]) ?? 0
        }
    }

    public func release(_ node: Data) throws {
        try pool.write { db in try db.cachedStatement(sql: "DELETE FROM audit_containment WHERE node_id = ?").execute(arguments: [node]) }
    }
}
