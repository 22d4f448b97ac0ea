import Foundation
import PostgresNIO
import SatelliteDB

extension PostgreSQLDatabase: ObjectsDB {
    public func beginObject(
        project: Data, bucket: String, key: String, streamID: Data, segmentCount: Int?, offers: [SegmentOfferRecord], expiresAt: Date?,
        zombieDeadline: Date, at: Date
    ) async throws -> ObjectRecord {
        try await write(.lockingRows) { connection in
            // The bucket held FOR SHARE, so that deleting it waits and then sees this upload;
            // the key's lock, so that two uploads of one key take different versions.
            guard try await !connection.rows("SELECT 1 FROM buckets WHERE project_id = \(project) AND name = \(bucket) FOR SHARE", self.logger).isEmpty else {
                throw ObjectConflict.noSuchBucket(bucket)
            }
            try await Self.lockKey(connection, project: project, bucket: bucket, key: key, logger: self.logger)
            let latest = try await connection.rows(
                "SELECT MAX(version) FROM objects WHERE project_id = \(project) AND bucket = \(bucket) AND key = \(key)", self.logger
            ).first?.decode(Int?.self)
            let version = (latest ?? nil ?? 0) + 1
            try await connection.query(
                """
                INSERT INTO objects (project_id, bucket, key, version, stream_id, status, created_at, expires_at, zombie_deadline, segment_count)
                VALUES (\(project), \(bucket), \(key), \(version), \(streamID), 'pending', \(at), \(expiresAt), \(zombieDeadline), \(segmentCount))
                """,
                logger: self.logger
            )
            try await Self.recordOffers(connection, streamID: streamID, first: 0, offers: offers, at: at, logger: self.logger)
            return ObjectRecord(bucket: bucket, key: key, version: version, streamID: streamID, committed: false, createdAt: at, expiresAt: expiresAt)
        }
    }

    public func offerSegments(project: Data, streamID: Data, first: Int, offers: [SegmentOfferRecord], at: Date) async throws {
        try await write(.lockingRows) { connection in
            // An upload of unknown length may have as many segments as any object.
            let segmentCount = try await Self.pendingUpload(connection, project: project, streamID: streamID, locking: true, logger: self.logger)
                ?? ObjectLimits.maxSegments
            if first + offers.count > segmentCount {
                throw ObjectConflict.positionOutOfRange(position: max(first, segmentCount), segmentCount: segmentCount)
            }
            try await Self.recordOffers(connection, streamID: streamID, first: first, offers: offers, at: at, logger: self.logger)
        }
    }

    public func commitSegment(project: Data, _ segment: SegmentRecord, zombieDeadline: Date, at: Date) async throws {
        try await write(.lockingRows) { connection in
            let logger = self.logger
            // The upload's row locked: its segments, offers and status stay as read until commit.
            let segmentCount = try await Self.pendingUpload(connection, project: project, streamID: segment.streamID, locking: true, logger: logger)
            if let segmentCount, segment.position >= segmentCount {
                throw ObjectConflict.positionOutOfRange(position: segment.position, segmentCount: segmentCount)
            }
            guard try await connection.rows(
                "SELECT 1 FROM segments WHERE stream_id = \(segment.streamID) AND position = \(segment.position)", logger
            ).isEmpty else {
                throw ObjectConflict.segmentExists(segment.position)
            }
            let nodes = Set(segment.pieces.map(\.node))
            let known = try await connection.rows("SELECT COUNT(*) FROM nodes WHERE id = ANY(\(Self.byteas(nodes)))", logger).first?.decode(Int.self) ?? 0
            guard known == nodes.count else { throw ObjectConflict.unknownNodes(nodes.count - known) }
            let offer = try await connection.rows(
                "SELECT nodes, root_piece_id FROM segment_offers WHERE stream_id = \(segment.streamID) AND position = \(segment.position)", logger
            ).first.map { try $0.decode((Data, Data?).self) }
            // Uploads begun before offers were recorded had none; every other is held to its offer.
            if segmentCount != nil || offer != nil {
                let offered = offer.map { Set(Self.nodeIDs($0.0)) } ?? []
                let strangers = nodes.subtracting(offered)
                guard strangers.isEmpty else { throw ObjectConflict.notOffered(position: segment.position, nodes: strangers.count) }
                guard offer?.1 == segment.rootPieceID else { throw ObjectConflict.offerReplaced(position: segment.position) }
            }
            let r = segment.redundancy
            try await connection.query(
                """
                INSERT INTO segments (stream_id, position, redundancy_k, redundancy_repair, redundancy_optimal, redundancy_total, redundancy_share_size,
                encrypted_size, pieces, root_piece_id, created_at)
                VALUES (\(segment.streamID), \(segment.position), \(r.k), \(r.repair), \(r.optimal), \(r.total), \(r.shareSize),
                \(segment.encryptedSize), \(Piece.encode(segment.pieces)), \(segment.rootPieceID), \(at))
                """,
                logger: logger
            )
            try await connection.query(
                "UPDATE objects SET zombie_deadline = \(zombieDeadline) WHERE stream_id = \(segment.streamID) AND status = 'pending'", logger: logger
            )
        }
    }

    public func pendingUpload(project: Data, streamID: Data) async throws -> PendingUpload {
        try await read { connection in
            guard let row = try await connection.rows(
                "SELECT status, bucket, expires_at FROM objects WHERE project_id = \(project) AND stream_id = \(streamID)", self.logger
            ).first else { throw ObjectConflict.noSuchStream }
            let (status, bucket, expires) = try row.decode((String, String, Date?).self)
            guard status == "pending" else { throw ObjectConflict.alreadyCommitted }
            return PendingUpload(bucket: bucket, expiresAt: expires)
        }
    }

    public func offeredSegment(project: Data, streamID: Data, position: Int) async throws -> OfferedSegment {
        try await read(snapshot: true) { connection in
            let segmentCount = try await Self.pendingUpload(connection, project: project, streamID: streamID, logger: self.logger)
            if let segmentCount, position >= segmentCount {
                throw ObjectConflict.positionOutOfRange(position: position, segmentCount: segmentCount)
            }
            let offer = try await connection.rows(
                "SELECT nodes, root_piece_id FROM segment_offers WHERE stream_id = \(streamID) AND position = \(position)", self.logger
            ).first.flatMap { row -> SegmentOfferRecord? in
                let (nodes, root) = try row.decode((Data, Data?).self)
                return root.map { SegmentOfferRecord(nodes: Self.nodeIDs(nodes), rootPieceID: $0) }
            }
            var keys: [Data: Data] = [:]
            if let offer {
                for row in try await connection.rows("SELECT id, public_key FROM nodes WHERE id = ANY(\(Self.byteas(offer.nodes))) AND public_key IS NOT NULL", self.logger) {
                    let (id, key) = try row.decode((Data, Data).self)
                    keys[id] = key
                }
            }
            return OfferedSegment(offer: offer, publicKeys: keys)
        }
    }

    public func commitObject(project: Data, streamID: Data, segmentCount given: Int?) async throws -> ObjectRecord {
        try await write(.lockingRows) { connection in
            let logger = self.logger
            // The key's lock first (as an upload's beginning takes it), then the upload's row:
            // the versions of the key and the upload's segments stay as read until commit.
            guard let found = try await connection.rows(
                "SELECT bucket, key FROM objects WHERE project_id = \(project) AND stream_id = \(streamID)", logger
            ).first else {
                throw ObjectConflict.noSuchStream
            }
            let (foundBucket, foundKey) = try found.decode((String, String).self)
            try await Self.lockKey(connection, project: project, bucket: foundBucket, key: foundKey, logger: logger)
            guard let row = try await connection.rows(
                "SELECT status, segment_count, bucket, key, version, created_at, expires_at FROM objects WHERE project_id = \(project) AND stream_id = \(streamID) FOR UPDATE",
                logger
            ).first else {
                throw ObjectConflict.noSuchStream
            }
            let (status, declared, bucket, key, version, created, expires) = try row.decode((String, Int?, String, String, Int, Date, Date?).self)
            guard status == "pending" else { throw ObjectConflict.alreadyCommitted }
            let committed = try await connection.rows("SELECT position FROM segments WHERE stream_id = \(streamID) ORDER BY position", logger)
                .map { try $0.decode(Int.self) }
            let segmentCount = try ObjectConflict.segmentCount(declared: declared, given: given, committed: committed)
            try await connection.query("DELETE FROM segment_offers WHERE stream_id = \(streamID)", logger: logger)
            try await connection.query(
                "DELETE FROM objects WHERE project_id = \(project) AND bucket = \(bucket) AND key = \(key) AND version < \(version) AND status = 'committed'",
                logger: logger
            )
            try await connection.query(
                "UPDATE objects SET status = 'committed', zombie_deadline = NULL, segment_count = \(segmentCount) WHERE stream_id = \(streamID)", logger: logger
            )
            return ObjectRecord(bucket: bucket, key: key, version: version, streamID: streamID, committed: true, createdAt: created, expiresAt: expires)
        }
    }

    public func object(
        project: Data, bucket: String, key: String, version: Int?, positions: Range<Int>
    ) async throws -> (object: ObjectRecord, segmentCount: Int, segments: [SegmentRecord], addresses: [Data: String])? {
        try await read(snapshot: true) { connection in
            let logger = self.logger
            // A version below every version is no version: 0 asks for the latest.
            let wanted = version ?? 0
            guard let row = try await connection.rows(
                """
                SELECT \(unescaped: Self.objectColumns), segment_count FROM objects
                WHERE project_id = \(project) AND bucket = \(bucket) AND key = \(key) AND status = 'committed'
                AND (\(wanted) = 0 OR version = \(wanted)) ORDER BY version DESC LIMIT 1
                """,
                logger
            ).first else { return nil }
            let object = try Self.object(row)
            let segments = try await connection.rows(
                """
                SELECT \(unescaped: Self.segmentColumns) FROM segments
                WHERE stream_id = \(object.streamID) AND position >= \(positions.lowerBound) AND position < \(positions.upperBound) ORDER BY position
                """,
                logger
            ).map(Self.segmentRecord)
            // Uploads begun before segment counts were declared have as many as were committed.
            let declared = try row.decode((String, String, Int, Data, String, Date, Date?, Int?).self).7
            let count: Int
            if let declared {
                count = declared
            } else {
                count = try await connection.rows("SELECT COUNT(*) FROM segments WHERE stream_id = \(object.streamID)", logger).first?.decode(Int.self) ?? 0
            }
            let addresses = try await Self.addresses(connection, of: segments.flatMap { $0.pieces.map(\.node) }, logger: logger)
            return (object, count, segments, addresses)
        }
    }

    public func listObjects(project: Data, bucket: String, prefix: String, after cursor: String?, limit: Int) async throws -> [ObjectRecord] {
        try await read { connection in
            // Keys compare as bytes (COLLATE "C"); the prefix range is [prefix, prefix + U+10FFFF).
            try await connection.rows(
                """
                SELECT \(unescaped: Self.objectColumns) FROM objects WHERE project_id = \(project) AND bucket = \(bucket) AND status = 'committed'
                AND key >= \(prefix) AND key < \(prefix + "\u{10FFFF}") AND key > \(cursor ?? "") ORDER BY key LIMIT \(limit)
                """,
                self.logger
            ).map(Self.object)
        }
    }

    public func deleteObject(project: Data, bucket: String, key: String) async throws -> Int {
        try await write { connection in
            try await connection.changed("DELETE FROM objects WHERE project_id = \(project) AND bucket = \(bucket) AND key = \(key) RETURNING 1", self.logger)
        }
    }

    public func addresses(of nodes: [Data]) async throws -> [Data: String] {
        try await read { connection in try await Self.addresses(connection, of: nodes, logger: self.logger) }
    }

    static func addresses(_ connection: PostgresConnection, of nodes: [Data], logger: Logger) async throws -> [Data: String] {
        var addresses: [Data: String] = [:]
        guard !nodes.isEmpty else { return addresses }
        for row in try await connection.rows("SELECT id, address FROM nodes WHERE id = ANY(\(Self.byteas(Set(nodes))))", logger) {
            let (id, address) = try row.decode((Data, String).self)
            addresses[id] = address
        }
        return addresses
    }

    /// The declared segment count of a pending upload of the project (nil when it declared none).
    /// - Throws: ``ObjectConflict`` when there is no such upload, or it is committed.
    /// - Parameter locking: lock the upload's row FOR UPDATE (in a ``WriteIsolation/lockingRows`` write).
    private static func pendingUpload(_ connection: PostgresConnection, project: Data, streamID: Data, locking: Bool = false, logger: Logger) async throws -> Int? {
        guard let row = try await connection.rows(
            "SELECT status, segment_count FROM objects WHERE project_id = \(project) AND stream_id = \(streamID) \(unescaped: locking ? "FOR UPDATE" : "")", logger
        ).first else {
            throw ObjectConflict.noSuchStream
        }
        let (status, count) = try row.decode((String, Int?).self)
        guard status == "pending" else { throw ObjectConflict.alreadyCommitted }
        return count
    }

    /// Takes the transaction-scoped advisory lock of one object key (the project, bucket and
    /// key hashed into the objects' lock space; two keys with one hash only wait for each other).
    private static func lockKey(_ connection: PostgresConnection, project: Data, bucket: String, key: String, logger: Logger) async throws {
        try await connection.query(
            "SELECT pg_advisory_xact_lock(\(objectKeyLockSpace), hashtext(encode(\(project), 'hex') || '/' || \(bucket) || '/' || \(key)))", logger: logger
        )
    }

    /// The first key of the objects' advisory locks ("SATK"), apart from the migrations' lock.
    private static let objectKeyLockSpace: Int32 = 0x5341_544B

    private static func recordOffers(
        _ connection: PostgresConnection, streamID: Data, first: Int, offers: [SegmentOfferRecord], at: Date, logger: Logger
    ) async throws {
        for (index, offer) in offers.enumerated() {
            let nodes = offer.nodes.reduce(into: Data(capacity: offer.nodes.count * 32)) { $0.append($1) }
            try await connection.query(
                """
                INSERT INTO segment_offers (stream_id, position, nodes, root_piece_id, offered_at) VALUES (\(streamID), \(first + index), \(nodes), \(offer.rootPieceID), \(at))
                ON CONFLICT (stream_id, position) DO UPDATE SET nodes = excluded.nodes, root_piece_id = excluded.root_piece_id, offered_at = excluded.offered_at
                """,
                logger: logger
            )
        }
    }

    /// Node ids as ``recordOffers`` stores them, 32 bytes each.
    private static func nodeIDs(_ blob: Data) -> [Data] {
        stride(from: blob.startIndex, to: blob.endIndex - (blob.count % 32), by: 32).map { Data(blob[$0..<($0 + 32)]) }
    }

    private static let objectColumns = "bucket, key, version, stream_id, status, created_at, expires_at"

    private static func object(_ row: PostgresRow) throws -> ObjectRecord {
        let (bucket, key, version, streamID, status, created, expires) = try row.decode((String, String, Int, Data, String, Date, Date?).self)
        return ObjectRecord(bucket: bucket, key: key, version: version, streamID: streamID, committed: status == "committed", createdAt: created, expiresAt: expires)
    }

    static let segmentColumns =
        "stream_id, position, redundancy_k, redundancy_repair, redundancy_optimal, redundancy_total, encrypted_size, pieces, root_piece_id, redundancy_share_size"

    static func segmentRecord(_ row: PostgresRow) throws -> SegmentRecord {
        let (streamID, position, k, repair, optimal, total, size, pieces, root, shareSize) = try row.decode(
            (Data, Int, Int, Int, Int, Int, Int64, Data, Data?, Int).self
        )
        return SegmentRecord(
            streamID: streamID, position: position, redundancy: Redundancy(k: k, repair: repair, optimal: optimal, total: total, shareSize: shareSize),
            encryptedSize: size, pieces: Piece.decode(pieces), rootPieceID: root
        )
    }
}
