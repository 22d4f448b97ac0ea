import Foundation
import GRDB
import SatelliteDB

extension SQLiteDatabase: ObjectsDB {
    public func beginObject(
        project: Data, bucket: String, key: String, streamID: Data, segmentCount: Int?, offers: [SegmentOfferRecord], expiresAt: Date?,
        zombieDeadline: Date, at: Date
    ) async throws -> ObjectRecord {
        try await write { db in
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM buckets WHERE project_id = ? AND name = ?"), arguments: [project, bucket]) != nil else {
                throw ObjectConflict.noSuchBucket(bucket)
            }
            let version = (try Int.fetchOne(
                db.cachedStatement(sql: "SELECT MAX(version) FROM objects WHERE project_id = ? AND bucket = ? AND key = ?"), arguments: [project, bucket, key]
            ) ?? 0) + 1
            try db.cachedStatement(
                sql: """
                    INSERT INTO objects (project_id, bucket, key, version, stream_id, status, created_at, expires_at, zombie_deadline, segment_count)
                    VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [project, bucket, key, version, streamID, at, expiresAt, zombieDeadline, segmentCount]
            )
            try Self.recordOffers(db, streamID: streamID, first: 0, offers: offers, at: at)
            return ObjectRecord(bucket: bucket, key: key, version: version, streamID: streamID, committed: false, createdAt: at, expiresAt: expiresAt)
        }
    }

    public func offerSegments(project: Data, streamID: Data, first: Int, offers: [SegmentOfferRecord], at: Date) async throws {
        try await write { db in
            // An upload of unknown length may have as many segments as any object.
            let segmentCount = try Self.pendingUpload(db, project: project, streamID: streamID) ?? ObjectLimits.maxSegments
            if first + offers.count > segmentCount {
                throw ObjectConflict.positionOutOfRange(position: max(first, segmentCount), segmentCount: segmentCount)
            }
            try Self.recordOffers(db, streamID: streamID, first: first, offers: offers, at: at)
        }
    }

    public func commitSegment(project: Data, _ segment: SegmentRecord, zombieDeadline: Date, at: Date) async throws {
        try await write { db in
            let segmentCount = try Self.pendingUpload(db, project: project, streamID: segment.streamID)
            if let segmentCount, segment.position >= segmentCount {
                throw ObjectConflict.positionOutOfRange(position: segment.position, segmentCount: segmentCount)
            }
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM segments WHERE stream_id = ? AND position = ?"), arguments: [segment.streamID, segment.position]) == nil else {
                throw ObjectConflict.segmentExists(segment.position)
            }
            let nodes = Set(segment.pieces.map(\.node))
            let known = try nodes.filter { try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM nodes WHERE id = ?"), arguments: [$0]) != nil }
            guard known.count == nodes.count else { throw ObjectConflict.unknownNodes(nodes.count - known.count) }
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT nodes, root_piece_id FROM segment_offers WHERE stream_id = ? AND position = ?"),
                arguments: [segment.streamID, segment.position]
            )
            // Uploads begun before offers were recorded had none; every other is held to its offer.
            if segmentCount != nil || row != nil {
                let offered = (row?[0] as Data?).map(Self.nodeIDs) ?? []
                let strangers = nodes.subtracting(offered)
                guard strangers.isEmpty else { throw ObjectConflict.notOffered(position: segment.position, nodes: strangers.count) }
                guard row?[1] as Data? == segment.rootPieceID else { throw ObjectConflict.offerReplaced(position: segment.position) }
            }
            let r = segment.redundancy
            try db.cachedStatement(
                sql: """
                    INSERT INTO segments (stream_id, position, redundancy_k, redundancy_repair, redundancy_optimal, redundancy_total, redundancy_share_size,
                    encrypted_size, pieces, root_piece_id, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    segment.streamID, segment.position, r.k, r.repair, r.optimal, r.total, r.shareSize, segment.encryptedSize, Piece.encode(segment.pieces),
                    segment.rootPieceID, at,
                ]
            )
            try db.cachedStatement(sql: "UPDATE objects SET zombie_deadline = ? WHERE stream_id = ? AND status = 'pending'")
                .execute(arguments: [zombieDeadline, segment.streamID])
        }
    }

    public func pendingUpload(project: Data, streamID: Data) async throws -> PendingUpload {
        try await readOneStatement { db in
            guard let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT status, bucket, expires_at FROM objects WHERE project_id = ? AND stream_id = ?"), arguments: [project, streamID]
            ) else { throw ObjectConflict.noSuchStream }
            guard row[0] as String == "pending" else { throw ObjectConflict.alreadyCommitted }
            return PendingUpload(bucket: row[1], expiresAt: row[2])
        }
    }

    public func offeredSegment(project: Data, streamID: Data, position: Int) async throws -> OfferedSegment {
        try await readInOneTransaction { db in
            let segmentCount = try Self.pendingUpload(db, project: project, streamID: streamID)
            if let segmentCount, position >= segmentCount {
                throw ObjectConflict.positionOutOfRange(position: position, segmentCount: segmentCount)
            }
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT nodes, root_piece_id FROM segment_offers WHERE stream_id = ? AND position = ?"), arguments: [streamID, position]
            )
            let offer = row.flatMap { row -> SegmentOfferRecord? in
                guard let root = row[1] as Data? else { return nil }
                return SegmentOfferRecord(nodes: Self.orderedNodeIDs(row[0]), rootPieceID: root)
            }
            var keys: [Data: Data] = [:]
            let statement = try db.cachedStatement(sql: "SELECT public_key FROM nodes WHERE id = ?")
            for node in offer?.nodes ?? [] {
                if let key = try Data.fetchOne(statement, arguments: [node]) { keys[node] = key }
            }
            return OfferedSegment(offer: offer, publicKeys: keys)
        }
    }

    public func commitObject(project: Data, streamID: Data, segmentCount given: Int?) async throws -> ObjectRecord {
        try await write { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM objects WHERE project_id = ? AND stream_id = ?"), arguments: [project, streamID]) else {
                throw ObjectConflict.noSuchStream
            }
            guard row["status"] as String == "pending" else { throw ObjectConflict.alreadyCommitted }
            let committed = try Int.fetchAll(db.cachedStatement(sql: "SELECT position FROM segments WHERE stream_id = ? ORDER BY position"), arguments: [streamID])
            let segmentCount = try ObjectConflict.segmentCount(declared: row["segment_count"], given: given, committed: committed)
            try db.cachedStatement(sql: "DELETE FROM segment_offers WHERE stream_id = ?").execute(arguments: [streamID])
            let bucket: String = row["bucket"], key: String = row["key"], version: Int = row["version"]
            try db.cachedStatement(
                sql: "DELETE FROM objects WHERE project_id = ? AND bucket = ? AND key = ? AND version < ? AND status = 'committed'"
            ).execute(
                arguments: [project, bucket, key, version]
            )
            try db.cachedStatement(sql: "UPDATE objects SET status = 'committed', zombie_deadline = NULL, segment_count = ? WHERE stream_id = ?")
                .execute(arguments: [segmentCount, streamID])
            return ObjectRecord(bucket: bucket, key: key, version: version, streamID: streamID, committed: true, createdAt: row["created_at"], expiresAt: row["expires_at"])
        }
    }

    public func object(
        project: Data, bucket: String, key: String, version: Int?, positions: Range<Int>
    ) async throws -> (object: ObjectRecord, segmentCount: Int, segments: [SegmentRecord], addresses: [Data: String])? {
        try await readInOneTransaction { db in
            // A version below every version is no version: 0 asks for the latest.
            guard let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT \(Self.objectColumns), segment_count FROM objects WHERE project_id = ? AND bucket = ? AND key = ? AND status = 'committed'
                        AND (? = 0 OR version = ?) ORDER BY version DESC LIMIT 1
                        """
                ),
                arguments: [project, bucket, key, version ?? 0, version ?? 0]
            ) else { return nil }
            let object = Self.object(row)
            let segments = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT \(Self.segmentColumns) FROM segments WHERE stream_id = ? AND position >= ? AND position < ? ORDER BY position"),
                arguments: [object.streamID, positions.lowerBound, positions.upperBound]
            ).map(Self.segmentRecord)
            // Uploads begun before segment counts were declared have as many as were committed.
            let declared: Int? = row[7]
            let count = try declared ?? Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM segments WHERE stream_id = ?"), arguments: [object.streamID]) ?? 0
            return (object, count, segments, try Self.addresses(db, of: segments.flatMap { $0.pieces.map(\.node) }))
        }
    }

    public func listObjects(project: Data, bucket: String, prefix: String, after cursor: String?, limit: Int) async throws -> [ObjectRecord] {
        try await readOneStatement { db in
            // Keys compare as bytes; the prefix range is [prefix, prefix + U+10FFFF).
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(Self.objectColumns) FROM objects WHERE project_id = ? AND bucket = ? AND status = 'committed'
                        AND key >= ? AND key < ? AND key > ? ORDER BY key LIMIT ?
                        """
                ),
                arguments: [project, bucket, prefix, prefix + "\u{10FFFF}", cursor ?? "", limit]
            ).map(Self.object)
        }
    }

    public func deleteObject(project: Data, bucket: String, key: String) async throws -> Int {
        try await write { db in
            try db.cachedStatement(sql: "DELETE FROM objects WHERE project_id = ? AND bucket = ? AND key = ?").execute(arguments: [project, bucket, key])
            return db.changesCount
        }
    }

    public func addresses(of nodes: [Data]) async throws -> [Data: String] {
        try await readInOneTransaction { db in try Self.addresses(db, of: nodes) }
    }

    private static func addresses(_ db: Database, of nodes: [Data]) throws -> [Data: String] {
        var addresses: [Data: String] = [:]
        let statement = try db.cachedStatement(sql: "SELECT address FROM nodes WHERE id = ?")
        for node in Set(nodes) {
            if let address = try String.fetchOne(statement, arguments: [node]) {
                addresses[node] = address
            }
        }
        return addresses
    }

    /// The declared segment count of a pending upload of the project (nil when it declared none).
    /// - Throws: ``ObjectConflict`` when there is no such upload, or it is committed.
    private static func pendingUpload(_ db: Database, project: Data, streamID: Data) throws -> Int? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT status, segment_count FROM objects WHERE project_id = ? AND stream_id = ?"), arguments: [project, streamID]) else {
            throw ObjectConflict.noSuchStream
        }
        guard row["status"] as String == "pending" else { throw ObjectConflict.alreadyCommitted }
        return row["segment_count"]
    }

    private static func recordOffers(_ db: Database, streamID: Data, first: Int, offers: [SegmentOfferRecord], at: Date) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO segment_offers (stream_id, position, nodes, root_piece_id, offered_at) VALUES (?, ?, ?, ?, ?)"
        )
        for (index, offer) in offers.enumerated() {
            let nodes = offer.nodes.reduce(into: Data(capacity: offer.nodes.count * 32)) { $0.append($1) }
            try statement.execute(arguments: [streamID, first + index, nodes, offer.rootPieceID, at])
        }
    }

    /// Node ids as ``recordOffers`` stores them, 32 bytes each.
    private static func nodeIDs(_ blob: Data) -> Set<Data> {
        Set(orderedNodeIDs(blob))
    }

    private static func orderedNodeIDs(_ blob: Data) -> [Data] {
        stride(from: blob.startIndex, to: blob.endIndex - (blob.count % 32), by: 32).map { Data(blob[$0..<($0 + 32)]) }
    }

    /// The columns ``object(_:)`` reads, by position: a lookup by name per column per row was
    /// much of the time a listing took.
    private static let objectColumns = "bucket, key, version, stream_id, status, created_at, expires_at"

    private static func object(_ row: Row) -> ObjectRecord {
        ObjectRecord(
            bucket: row[0], key: row[1], version: row[2], streamID: row[3],
            committed: row[4] as String == "committed", createdAt: row[5], expiresAt: row[6]
        )
    }
}
