import Foundation
import GRDB
import SatelliteDB

extension SQLiteDatabase: RepairQueueDB {
    public func segments(after cursor: (streamID: Data, position: Int)?, limit: Int) async throws -> [SegmentRecord] {
        try await read { db in
            let rows: [Row]
            if let cursor {
                rows = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT \(Self.segmentColumns) FROM segments WHERE (stream_id, position) > (?, ?) ORDER BY stream_id, position LIMIT ?"),
                    arguments: [cursor.streamID, cursor.position, limit]
                )
            } else {
                rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Self.segmentColumns) FROM segments ORDER BY stream_id, position LIMIT ?"), arguments: [limit])
            }
            return rows.map(Self.segmentRecord)
        }
    }

    public func standings(of nodes: Set<Data>) async throws -> [Data: NodeStanding] {
        try await read { db in
            var standings: [Data: NodeStanding] = [:]
            for node in nodes {
                if let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT last_net, last_contact_success, disqualified_at, exit_initiated_at FROM nodes WHERE id = ?"),
                    arguments: [node]
                ) {
                    standings[node] = NodeStanding(
                        lastNet: row["last_net"], lastContactSuccess: row["last_contact_success"],
                        disqualified: row["disqualified_at"] as Date? != nil, exiting: row["exit_initiated_at"] as Date? != nil
                    )
                }
            }
            return standings
        }
    }

    public func queueForRepair(_ candidates: [RepairCandidate], at: Date) async throws {
        guard !candidates.isEmpty else { return }
        try await write { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO repair_queue (stream_id, position, segment_health, inserted_at, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(stream_id, position) DO UPDATE SET segment_health = excluded.segment_health, updated_at = excluded.updated_at
                """)
            for candidate in candidates {
                try upsert.execute(arguments: [candidate.streamID, candidate.position, candidate.health, at, at])
            }
        }
    }

    public func removeFromQueue(streamID: Data, position: Int) async throws {
        try await write { db in
            try db.cachedStatement(sql: "DELETE FROM repair_queue WHERE stream_id = ? AND position = ?").execute(arguments: [streamID, position])
        }
    }

    public func removeQueueEntries(notSeenSince since: Date) async throws -> Int {
        try await write { db in
            try db.cachedStatement(sql: "DELETE FROM repair_queue WHERE updated_at < ?").execute(arguments: [since])
            return db.changesCount
        }
    }

    public func claimRepairs(limit: Int, leaseCutoff: Date, at: Date) async throws -> [RepairEntry] {
        try await write { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT stream_id, position, segment_health, attempts FROM repair_queue
                        WHERE attempted_at IS NULL OR attempted_at < ?
                        ORDER BY segment_health, inserted_at LIMIT ?
                        """
                ),
                arguments: [leaseCutoff, limit]
            )
            var claimed: [RepairEntry] = []
            for row in rows {
                try db.cachedStatement(
                    sql: "UPDATE repair_queue SET attempted_at = ?, attempts = attempts + 1 WHERE stream_id = ? AND position = ?"
                ).execute(
                    arguments: [at, row["stream_id"] as Data, row["position"] as Int]
                )
                claimed.append(RepairEntry(streamID: row["stream_id"], position: row["position"], health: row["segment_health"], attempts: row["attempts"] as Int + 1))
            }
            return claimed
        }
    }

    public func releaseRepair(streamID: Data, position: Int, error: String) async throws {
        try await write { db in
            try db.cachedStatement(
                sql: "UPDATE repair_queue SET attempted_at = NULL, last_error = ? WHERE stream_id = ? AND position = ?"
            ).execute(
                arguments: [error, streamID, position]
            )
        }
    }

    public func repairQueue() async throws -> [RepairEntry] {
        try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT stream_id, position, segment_health, attempts FROM repair_queue ORDER BY segment_health, inserted_at")).map {
                RepairEntry(streamID: $0["stream_id"], position: $0["position"], health: $0["segment_health"], attempts: $0["attempts"])
            }
        }
    }

    public func owner(ofStream streamID: Data) async throws -> SegmentOwner? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT project_id, bucket, expires_at FROM objects WHERE stream_id = ?"), arguments: [streamID])
                .map { SegmentOwner(project: $0[0], bucket: $0[1], expiresAt: $0[2]) }
        }
    }

    public func replacePieces(streamID: Data, position: Int, expected: [Piece], with pieces: [Piece]) async throws -> Bool {
        try await write { db in
            try db.cachedStatement(sql: "UPDATE segments SET pieces = ? WHERE stream_id = ? AND position = ? AND pieces = ?")
                .execute(arguments: [Piece.encode(pieces), streamID, position, Piece.encode(expected)])
            return db.changesCount == 1
        }
    }

    public func segment(streamID: Data, position: Int) async throws -> SegmentRecord? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.segmentColumns) FROM segments WHERE stream_id = ? AND position = ?"), arguments: [streamID, position]).map(Self.segmentRecord)
        }
    }

    /// The columns ``segmentRecord(_:)`` reads, in the order it reads them by position: the
    /// repair checker decodes a million rows a pass, and a lookup by name costs a search per column.
    static let segmentColumns =
        "stream_id, position, redundancy_k, redundancy_repair, redundancy_optimal, redundancy_total, encrypted_size, pieces, root_piece_id, redundancy_share_size"

    static func segmentRecord(_ row: Row) -> SegmentRecord {
        SegmentRecord(
            streamID: row[0], position: row[1],
            redundancy: Redundancy(k: row[2], repair: row[3], optimal: row[4], total: row[5], shareSize: row[9]),
            encryptedSize: row[6], pieces: Piece.decode(row[7]), rootPieceID: row[8]
        )
    }
}
