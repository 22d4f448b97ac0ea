import Foundation
import GRDB
import SatelliteDB

extension SQLiteDatabase: ReputationDB {
    public func recordAudits(
        _ outcomes: [(node: Data, verdict: AuditVerdict)], at: Date,
        update: @escaping @Sendable (ReputationScales, AuditVerdict) -> (scales: ReputationScales, disqualify: Bool, suspend: Bool)
    ) async throws -> StandingChanges {
        try await write { db in
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

    public func auditStanding(of node: Data) async throws -> AuditStanding? {
        try await read { db in
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

extension SQLiteDatabase: ContainmentDB {
    public func contain(_ audit: PendingAudit, at: Date) async throws -> Bool {
        try await write { db in
            try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO audit_containment (node_id, stream_id, position, piece_number, reverifications, contained_at)
                    VALUES (?, ?, ?, ?, 0, ?)
                    """
            ).execute(arguments: [audit.node, audit.streamID, audit.position, audit.pieceNumber, at])
            return db.changesCount == 1
        }
    }

    public func pendingAudits() async throws -> [PendingAudit] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT node_id, stream_id, position, piece_number, reverifications FROM audit_containment ORDER BY contained_at")
            ).map { PendingAudit(node: $0[0], streamID: $0[1], position: $0[2], pieceNumber: $0[3], reverifications: $0[4]) }
        }
    }

    public func countReverification(of node: Data) async throws -> Int {
        try await write { db in
            try db.cachedStatement(sql: "UPDATE audit_containment SET reverifications = reverifications + 1 WHERE node_id = ?").execute(arguments: [node])
            return try Int.fetchOne(db.cachedStatement(sql: "SELECT reverifications FROM audit_containment WHERE node_id = ?"), arguments: [node]) ?? 0
        }
    }

    public func release(_ node: Data) async throws {
        try await write { db in try db.cachedStatement(sql: "DELETE FROM audit_containment WHERE node_id = ?").execute(arguments: [node]) }
    }
}
