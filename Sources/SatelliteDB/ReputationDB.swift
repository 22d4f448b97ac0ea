import Foundation
import GRDB

/// A node's audit standing as stored: its alpha and beta (nil before its first audit), its audits
/// and the successful ones, and when it was disqualified.
public struct AuditStanding: Sendable, Equatable {
    public let alpha: Double?
    public let beta: Double?
    public let successes: Int
    public let count: Int
    public let disqualifiedAt: Date?
}

/// The nodes' reputations.
public protocol ReputationDB: Sendable {
    /// Applies one audit of each node, in order, in one write transaction: `update` takes the
    /// node's alpha and beta (nil before its first audit) and whether the audit succeeded, and
    /// answers the new alpha and beta and whether that disqualifies the node. Returns the nodes
    /// disqualified by this call (a node disqualified before stays as it was).
    func recordAudits(
        _ outcomes: [(node: Data, success: Bool)], at: Date,
        update: (_ alpha: Double?, _ beta: Double?, _ success: Bool) -> (alpha: Double, beta: Double, disqualify: Bool)
    ) throws -> [Data]
    func auditStanding(of node: Data) throws -> AuditStanding?
}

extension SatelliteDatabase: ReputationDB {
    public func recordAudits(
        _ outcomes: [(node: Data, success: Bool)], at: Date,
        update: (_ alpha: Double?, _ beta: Double?, _ success: Bool) -> (alpha: Double, beta: Double, disqualify: Bool)
    ) throws -> [Data] {
        try pool.write { db in
            var disqualified: [Data] = []
            for outcome in outcomes {
                guard let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT audit_alpha, audit_beta, disqualified_at, audit_count FROM nodes WHERE id = ?"), arguments: [outcome.node]
                ) else { continue }
                let audited = (row[3] as Int) > 0
                let next = update(audited ? row[0] : nil, audited ? row[1] : nil, outcome.success)
                let newlyDisqualified = next.disqualify && (row[2] as Date?) == nil
                try db.cachedStatement(
                    sql: """
                        UPDATE nodes SET audit_alpha = ?, audit_beta = ?, audit_count = audit_count + 1, audit_successes = audit_successes + ?,
                        disqualified_at = CASE WHEN ? THEN ? ELSE disqualified_at END WHERE id = ?
                        """
                ).execute(arguments: [next.alpha, next.beta, outcome.success ? 1 : 0, newlyDisqualified, at, outcome.node])
                if newlyDisqualified { disqualified.append(outcome.node) }
            }
            return disqualified
        }
    }

    public func auditStanding(of node: Data) throws -> AuditStanding? {
        try pool.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT audit_alpha, audit_beta, audit_successes, audit_count, disqualified_at FROM nodes WHERE id = ?"), arguments: [node]
            ).map { row in
                let audited = (row[3] as Int) > 0
                return AuditStanding(alpha: audited ? row[0] : nil, beta: audited ? row[1] : nil, successes: row[2], count: row[3], disqualifiedAt: row[4])
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
