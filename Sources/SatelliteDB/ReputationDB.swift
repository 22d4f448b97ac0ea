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
