import Foundation
import GRDB

/// What the repair checker needs to know of a node to count its pieces.
public struct NodeStanding: Sendable, Equatable {
    public let lastNet: String
    public let lastContactSuccess: Date?
    public let disqualified: Bool
    public let exiting: Bool
}

/// An entry of the repair queue.
public struct RepairEntry: Sendable, Equatable {
    public let streamID: Data
    public let position: Int
    public let health: Double
    public let attempts: Int
}

/// A segment found at or below its repair threshold, with its health score.
public struct RepairCandidate: Sendable, Equatable {
    public let streamID: Data
    public let position: Int
    public let health: Double

    public init(streamID: Data, position: Int, health: Double) {
        self.streamID = streamID
        self.position = position
        self.health = health
    }
}

/// The segment scan, the repair queue and its claims.
public protocol RepairQueueDB: Sendable {
    /// Segments after `cursor` in (stream id, position) order.
    func segments(after cursor: (streamID: Data, position: Int)?, limit: Int) throws -> [SegmentRecord]
    /// The standing of each of these nodes that the overlay knows.
    func standings(of nodes: Set<Data>) throws -> [Data: NodeStanding]
    /// Queues each segment or updates its health, in one transaction; either way each counts as
    /// seen at `at`.
    func queueForRepair(_ candidates: [RepairCandidate], at: Date) throws
    /// Removes the segment's entry, if any.
    func removeFromQueue(streamID: Data, position: Int) throws
    /// Removes the entries not queued or updated since `since` (not seen by the last full pass).
    func removeQueueEntries(notSeenSince since: Date) throws -> Int
    /// Claims up to `limit` entries, most urgent first, that nobody claimed after `leaseCutoff`,
    /// marking them attempted at `at`, in one write transaction: two claimers never get one entry.
    func claimRepairs(limit: Int, leaseCutoff: Date, at: Date) throws -> [RepairEntry]
    /// Gives an entry back with the reason the attempt did not repair it.
    func releaseRepair(streamID: Data, position: Int, error: String) throws
    func repairQueue() throws -> [RepairEntry]
    /// One segment, if it still exists.
    func segment(streamID: Data, position: Int) throws -> SegmentRecord?
    /// Whose segment it is (the object's project and bucket) and when it expires, if it exists.
    func owner(ofStream streamID: Data) throws -> SegmentOwner?
    /// Replaces the segment's pieces with `pieces` if they are still `expected`, in one write
    /// transaction: a repair that raced a delete, an overwrite or another repair changes nothing
    /// and learns so (false).
    func replacePieces(streamID: Data, position: Int, expected: [Piece], with pieces: [Piece]) throws -> Bool
}

/// The object a segment belongs to, as a repair needs it: whom its traffic is billed to, and when
/// its pieces may expire.
public struct SegmentOwner: Sendable, Equatable {
    public let project: Data
    public let bucket: String
    public let expiresAt: Date?
}

extension SatelliteDatabase: RepairQueueDB {
    public func segments(after cursor: (streamID: Data, position: Int)?, limit: Int) throws -> [SegmentRecord] {
        try pool.read { db in
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

    public func standings(of nodes: Set<Data>) throws -> [Data: NodeStanding] {
        try pool.read { db in
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

    public func queueForRepair(_ candidates: [RepairCandidate], at: Date) throws {
        guard !candidates.isEmpty else { return }
        try pool.write { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO repair_queue (stream_id, position, segment_health, inserted_at, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(stream_id, position) DO UPDATE SET segment_health = excluded.segment_health, updated_at = excluded.updated_at
                """)
            for candidate in candidates {
                try upsert.execute(arguments: [candidate.streamID, candidate.position, candidate.health, at, at])
            }
        }
    }

    public func removeFromQueue(streamID: Data, position: Int) throws {
        try pool.write { db in
            try db.cachedStatement(sql: "DELETE FROM repair_queue WHERE stream_id = ? AND position = ?").execute(arguments: [streamID, position])
        }
    }

    public func removeQueueEntries(notSeenSince since: Date) throws -> Int {
        try pool.write { db in
            try db.cachedStatement(sql: "DELETE FROM repair_queue WHERE updated_at < ?").execute(arguments: [since])
            return db.changesCount
        }
    }

    public func claimRepairs(limit: Int, leaseCutoff: Date, at: Date) throws -> [RepairEntry] {
        try pool.write { db in
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

    public func releaseRepair(streamID: Data, position: Int, error: String) throws {
        try pool.write { db in
            try db.cachedStatement(
                sql: "UPDATE repair_queue SET attempted_at = NULL, last_error = ? WHERE stream_id = ? AND position = ?"
            ).execute(
                arguments: [error, streamID, position]
            )
        }
    }

    public func repairQueue() throws -> [RepairEntry] {
        try pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT stream_id, position, segment_health, attempts FROM repair_queue ORDER BY segment_health, inserted_at")).map {
                RepairEntry(streamID: $0["stream_id"], position: $0["position"], health: $0["segment_health"], attempts: $0["attempts"])
            }
        }
    }

    public func owner(ofStream streamID: Data) throws -> SegmentOwner? {
        try pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT project_id, bucket, expires_at FROM objects WHERE stream_id = ?"), arguments: [streamID])
                .map { SegmentOwner(project: $0[0], bucket: $0[1], expiresAt: $0[2]) }
        }
    }

    public func replacePieces(streamID: Data, position: Int, expected: [Piece], with pieces: [Piece]) throws -> Bool {
        try pool.write { db in
            try db.cachedStatement(sql: "UPDATE segments SET pieces = ? WHERE stream_id = ? AND position = ? AND pieces = ?")
                .execute(arguments: [Piece.encode(pieces), streamID, position, Piece.encode(expected)])
            return db.changesCount == 1
        }
    }

    public func segment(streamID: Data, position: Int) throws -> SegmentRecord? {
        try pool.read { db in
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
