import Foundation
import PostgresNIO
import SatelliteDB

extension PostgreSQLDatabase: ReputationDB {
    public func recordAudits(
        _ outcomes: [(node: Data, verdict: AuditVerdict)], at: Date,
        update: @escaping @Sendable (ReputationScales, AuditVerdict) -> (scales: ReputationScales, disqualify: Bool, suspend: Bool)
    ) async throws -> StandingChanges {
        let outcomes = outcomes.map { Outcome(node: $0.node, verdict: $0.verdict) }
        return try await write { connection in
            var changes = StandingChanges()
            for outcome in outcomes {
                guard let row = try await connection.rows(
                    """
                    SELECT audit_alpha, audit_beta, disqualified_at, audit_count, unknown_alpha, unknown_beta, suspended_at FROM nodes
                    WHERE id = \(outcome.node) FOR UPDATE
                    """,
                    self.logger
                ).first else { continue }
                let (alpha, beta, disqualifiedAt, count, unknownAlpha, unknownBeta, suspendedAt) = try row.decode(
                    (Double, Double, Date?, Int, Double?, Double?, Date?).self
                )
                let audited = count > 0
                let stored = ReputationScales(
                    auditAlpha: audited ? alpha : nil, auditBeta: audited ? beta : nil, unknownAlpha: unknownAlpha, unknownBeta: unknownBeta
                )
                let next = update(stored, outcome.verdict)
                let newlyDisqualified = next.disqualify && disqualifiedAt == nil
                let wasSuspended = suspendedAt != nil
                let counted = outcome.verdict != .unknown
                try await connection.query(
                    """
                    UPDATE nodes SET audit_alpha = COALESCE(\(next.scales.auditAlpha), audit_alpha), audit_beta = COALESCE(\(next.scales.auditBeta), audit_beta),
                    unknown_alpha = COALESCE(\(next.scales.unknownAlpha), unknown_alpha), unknown_beta = COALESCE(\(next.scales.unknownBeta), unknown_beta),
                    audit_count = audit_count + \(counted ? 1 : 0), audit_successes = audit_successes + \(outcome.verdict == .success ? 1 : 0),
                    disqualified_at = CASE WHEN \(newlyDisqualified) THEN \(at) ELSE disqualified_at END,
                    suspended_at = CASE WHEN \(next.suspend) THEN COALESCE(suspended_at, \(at)) ELSE NULL END WHERE id = \(outcome.node)
                    """,
                    logger: self.logger
                )
                if newlyDisqualified { changes.disqualified.append(outcome.node) }
                if next.suspend && !wasSuspended { changes.suspended.append(outcome.node) }
                if !next.suspend && wasSuspended { changes.unsuspended.append(outcome.node) }
            }
            return changes
        }
    }

    public func auditStanding(of node: Data) async throws -> AuditStanding? {
        try await read { connection in
            try await connection.rows(
                """
                SELECT audit_alpha, audit_beta, audit_successes, audit_count, disqualified_at, unknown_alpha, unknown_beta, suspended_at
                FROM nodes WHERE id = \(node)
                """,
                self.logger
            ).first.map { row in
                let (alpha, beta, successes, count, disqualified, unknownAlpha, unknownBeta, suspended) = try row.decode(
                    (Double, Double, Int, Int, Date?, Double?, Double?, Date?).self
                )
                let audited = count > 0
                return AuditStanding(
                    alpha: audited ? alpha : nil, beta: audited ? beta : nil, successes: successes, count: count, unknownAlpha: unknownAlpha,
                    unknownBeta: unknownBeta, disqualifiedAt: disqualified, suspendedAt: suspended
                )
            }
        }
    }

    /// One audit's verdict, as a value the write's closure may carry.
    private struct Outcome: Sendable {
        let node: Data
        let verdict: AuditVerdict
    }
}

extension PostgreSQLDatabase: ContainmentDB {
    public func contain(_ audit: PendingAudit, at: Date) async throws -> Bool {
        try await write { connection in
            try await connection.changed(
                """
                INSERT INTO audit_containment (node_id, stream_id, position, piece_number, reverifications, contained_at)
                VALUES (\(audit.node), \(audit.streamID), \(audit.position), \(audit.pieceNumber), 0, \(at)) ON CONFLICT DO NOTHING RETURNING 1
                """,
                self.logger
            ) == 1
        }
    }

    public func pendingAudits() async throws -> [PendingAudit] {
        try await read { connection in
            try await connection.rows(
                "SELECT node_id, stream_id, position, piece_number, reverifications FROM audit_containment ORDER BY contained_at", self.logger
            ).map { row in
                let (node, streamID, position, piece, reverifications) = try row.decode((Data, Data, Int, Int, Int).self)
                return PendingAudit(node: node, streamID: streamID, position: position, pieceNumber: piece, reverifications: reverifications)
            }
        }
    }

    public func countReverification(of node: Data) async throws -> Int {
        try await write { connection in
            try await connection.rows(
                "UPDATE audit_containment SET reverifications = reverifications + 1 WHERE node_id = \(node) RETURNING reverifications", self.logger
            ).first?.decode(Int.self) ?? 0
        }
    }

    public func release(_ node: Data) async throws {
        try await write { connection in
            _ = try await connection.query("DELETE FROM audit_containment WHERE node_id = \(node)", logger: self.logger)
        }
    }
}
