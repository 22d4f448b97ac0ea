import Foundation
import PostgresNIO
import SatelliteDB

extension PostgreSQLDatabase: RepairQueueDB {
    public func segments(after cursor: (streamID: Data, position: Int)?, limit: Int) async throws -> [SegmentRecord] {
        let start = cursor.map { ($0.streamID, $0.position) }
        return try await read { connection in
            let query: PostgresQuery
            if let (streamID, position) = start {
                query = try """
                    SELECT \(unescaped: Self.segmentColumns) FROM segments WHERE (stream_id, position) > (\(streamID), \(position))
                    ORDER BY stream_id, position LIMIT \(limit)
                    """
            } else {
                query = "SELECT \(unescaped: Self.segmentColumns) FROM segments ORDER BY stream_id, position LIMIT \(limit)"
            }
            return try await connection.rows(query, self.logger).map(Self.segmentRecord)
        }
    }

    public func standings(of nodes: Set<Data>) async throws -> [Data: NodeStanding] {
        guard !nodes.isEmpty else { return [:] }
        return try await read { connection in
            var standings: [Data: NodeStanding] = [:]
            for row in try await connection.rows(
                "SELECT id, last_net, last_contact_success, disqualified_at, exit_initiated_at FROM nodes WHERE id = ANY(\(Self.byteas(nodes)))", self.logger
            ) {
                let (id, lastNet, success, disqualified, exiting) = try row.decode((Data, String, Date?, Date?, Date?).self)
                standings[id] = NodeStanding(lastNet: lastNet, lastContactSuccess: success, disqualified: disqualified != nil, exiting: exiting != nil)
            }
            return standings
        }
    }

    public func queueForRepair(_ candidates: [RepairCandidate], at: Date) async throws {
        guard !candidates.isEmpty else { return }
        try await write { connection in
            for candidate in candidates {
                try await connection.query(
                    """
                    INSERT INTO repair_queue (stream_id, position, segment_health, inserted_at, updated_at)
                    VALUES (\(candidate.streamID), \(candidate.position), \(candidate.health), \(at), \(at))
                    ON CONFLICT (stream_id, position) DO UPDATE SET segment_health = excluded.segment_health, updated_at = excluded.updated_at
                    """,
                    logger: self.logger
                )
            }
        }
    }

    public func removeFromQueue(streamID: Data, position: Int) async throws {
        try await write { connection in
            _ = try await connection.query("DELETE FROM repair_queue WHERE stream_id = \(streamID) AND position = \(position)", logger: self.logger)
        }
    }

    public func removeQueueEntries(notSeenSince since: Date) async throws -> Int {
        try await write { connection in
            try await connection.changed("DELETE FROM repair_queue WHERE updated_at < \(since) RETURNING 1", self.logger)
        }
    }

    public func claimRepairs(limit: Int, leaseCutoff: Date, at: Date) async throws -> [RepairEntry] {
        try await write { connection in
            // SERIALIZABLE: two claimers that read the same entries cannot both commit.
            try await connection.rows(
                """
                UPDATE repair_queue SET attempted_at = \(at), attempts = attempts + 1
                WHERE (stream_id, position) IN (
                    SELECT stream_id, position FROM repair_queue WHERE attempted_at IS NULL OR attempted_at < \(leaseCutoff)
                    ORDER BY segment_health, inserted_at LIMIT \(limit)
                )
                RETURNING stream_id, position, segment_health, attempts, inserted_at
                """,
                self.logger
            ).map { row in
                let (streamID, position, health, attempts, inserted) = try row.decode((Data, Int, Double, Int, Date).self)
                return (RepairEntry(streamID: streamID, position: position, health: health, attempts: attempts), inserted)
            }
            .sorted { ($0.0.health, $0.1) < ($1.0.health, $1.1) }
            .map(\.0)
        }
    }

    public func releaseRepair(streamID: Data, position: Int, error: String) async throws {
        try await write { connection in
            _ = try await connection.query(
                "UPDATE repair_queue SET attempted_at = NULL, last_error = \(error) WHERE stream_id = \(streamID) AND position = \(position)", logger: self.logger
            )
        }
    }

    public func repairQueue() async throws -> [RepairEntry] {
        try await read { connection in
            try await connection.rows("SELECT stream_id, position, segment_health, attempts FROM repair_queue ORDER BY segment_health, inserted_at", self.logger)
                .map { row in
                    let (streamID, position, health, attempts) = try row.decode((Data, Int, Double, Int).self)
                    return RepairEntry(streamID: streamID, position: position, health: health, attempts: attempts)
                }
        }
    }

    public func owner(ofStream streamID: Data) async throws -> SegmentOwner? {
        try await read { connection in
            try await connection.rows("SELECT project_id, bucket, expires_at FROM objects WHERE stream_id = \(streamID)", self.logger).first.map { row in
                let (project, bucket, expires) = try row.decode((Data, String, Date?).self)
                return SegmentOwner(project: project, bucket: bucket, expiresAt: expires)
            }
        }
    }

    public func replacePieces(streamID: Data, position: Int, expected: [Piece], with pieces: [Piece]) async throws -> Bool {
        try await write { connection in
            try await connection.changed(
                """
                UPDATE segments SET pieces = \(Piece.encode(pieces))
                WHERE stream_id = \(streamID) AND position = \(position) AND pieces = \(Piece.encode(expected)) RETURNING 1
                """,
                self.logger
            ) == 1
        }
    }

    public func segment(streamID: Data, position: Int) async throws -> SegmentRecord? {
        try await read { connection in
            try await connection.rows(
                "SELECT \(unescaped: Self.segmentColumns) FROM segments WHERE stream_id = \(streamID) AND position = \(position)", self.logger
            ).first.map(Self.segmentRecord)
        }
    }
}
