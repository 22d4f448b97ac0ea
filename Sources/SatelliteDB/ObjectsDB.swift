import Foundation
import GRDB

/// How a segment is erasure-coded: `k` pieces rebuild it; it is repaired at `repair` healthy
/// pieces or fewer; an upload succeeds with `optimal`; `total` nodes are offered; each stripe
/// gives every piece one share of `shareSize` bytes.
public struct Redundancy: Sendable, Equatable {
    public let k: Int
    public let repair: Int
    public let optimal: Int
    public let total: Int
    public let shareSize: Int

    public init(k: Int, repair: Int, optimal: Int, total: Int, shareSize: Int = 256) {
        self.k = k
        self.repair = repair
        self.optimal = optimal
        self.total = total
        self.shareSize = shareSize
    }

    /// How many pieces a download is given limits for: `k` and a margin for slow or failed nodes,
    /// `k × (total − optimal) / optimal` and at least one, at most `total` (Storj's
    /// `RedundancyScheme.DownloadNodes`).
    public var downloadNodes: Int {
        let extra = max(1, (total - optimal) * k / max(optimal, 1))
        return min(k + extra, total)
    }
}

/// The nodes offered for one position of a pending upload, and the root piece id their pieces'
/// ids are derived from.
public struct SegmentOfferRecord: Sendable, Equatable {
    public let nodes: [Data]
    public let rootPieceID: Data

    public init(nodes: [Data], rootPieceID: Data) {
        self.nodes = nodes
        self.rootPieceID = rootPieceID
    }
}

/// What a commit of one position is checked against: the latest offer for it and the public keys
/// of the offered nodes that have one.
public struct OfferedSegment: Sendable, Equatable {
    /// Nil for an upload begun before segment counts were declared (any known node will do).
    public let offer: SegmentOfferRecord?
    public let publicKeys: [Data: Data]
}

/// One stored piece: its number in the erasure code and the node holding it.
public struct Piece: Sendable, Equatable, Hashable {
    public let number: Int
    public let node: Data

    public init(number: Int, node: Data) {
        self.number = number
        self.node = node
    }

    /// Pieces as stored: for each, a 2-byte big-endian number and the 32-byte node id.
    public static func encode(_ pieces: [Piece]) -> Data {
        var data = Data(capacity: pieces.count * 34)
        for piece in pieces {
            data.append(UInt8(piece.number >> 8 & 0xFF))
            data.append(UInt8(piece.number & 0xFF))
            data.append(piece.node)
        }
        return data
    }

    public static func decode(_ data: Data) -> [Piece] {
        data.withUnsafeBytes { bytes in
            stride(from: 0, to: bytes.count - bytes.count % 34, by: 34).map { offset in
                Piece(number: Int(bytes[offset]) << 8 | Int(bytes[offset + 1]), node: Data(bytes[(offset + 2)..<(offset + 34)]))
            }
        }
    }
}

/// A node offered for an upload.
public struct NodeChoice: Sendable, Equatable {
    public let id: Data
    public let address: String
    public let lastNet: String

    public init(id: Data, address: String, lastNet: String) {
        self.id = id
        self.address = address
        self.lastNet = lastNet
    }
}

public struct ObjectRecord: Sendable, Equatable {
    public let bucket: String
    public let key: String
    public let version: Int
    public let streamID: Data
    public let committed: Bool
    public let createdAt: Date
    public let expiresAt: Date?
}

public struct SegmentRecord: Sendable, Equatable {
    public let streamID: Data
    public let position: Int
    public let redundancy: Redundancy
    public let encryptedSize: Int64
    public let pieces: [Piece]
    /// The id each node's piece id is derived from; nil for segments stored before order limits.
    public let rootPieceID: Data?

    public init(streamID: Data, position: Int, redundancy: Redundancy, encryptedSize: Int64, pieces: [Piece], rootPieceID: Data? = nil) {
        self.streamID = streamID
        self.position = position
        self.redundancy = redundancy
        self.encryptedSize = encryptedSize
        self.pieces = pieces
        self.rootPieceID = rootPieceID
    }
}

/// A pending upload's bucket and expiration: what its order limits carry.
public struct PendingUpload: Sendable, Equatable {
    public let bucket: String
    public let expiresAt: Date?
}

/// Why an object write was refused, beyond a broken database.
public enum ObjectConflict: Error, Equatable, CustomStringConvertible {
    case noSuchBucket(String)
    case noSuchStream
    case alreadyCommitted
    case segmentExists(Int)
    case unknownNodes(Int)
    case noSuchObject(String)
    /// A segment position at or past the upload's declared segment count.
    case positionOutOfRange(position: Int, segmentCount: Int)
    /// Pieces on nodes that were not offered for the segment's position.
    case notOffered(position: Int, nodes: Int)
    /// The position was offered again while its commit was being checked.
    case offerReplaced(position: Int)
    /// An object committed while positions below its segment count have no segment.
    case missingSegments(positions: [Int], segmentCount: Int)
    /// A commit naming a segment count other than the one the upload declared.
    case segmentCountMismatch(declared: Int, given: Int)
    /// A commit naming fewer segments than the upload committed.
    case segmentsBeyond(segmentCount: Int, positions: [Int])

    /// Whether the request itself is wrong (400), rather than at odds with what exists (409).
    public var isBadRequest: Bool {
        switch self {
        case .positionOutOfRange, .notOffered, .segmentCountMismatch: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .noSuchBucket(let name): "no bucket is named \"\(name)\""
        case .noSuchStream: "no pending object has this stream id in the project"
        case .alreadyCommitted: "the object is committed already"
        case .segmentExists(let position): "segment \(position) is committed already"
        case .unknownNodes(let count): "\(count) of the pieces name nodes the satellite does not know"
        case .noSuchObject(let key): "no object has the key \"\(key)\""
        case .positionOutOfRange(let position, let count):
            "position \(position) is outside the upload, which declared \(count) segment\(count == 1 ? "" : "s") (positions 0 to \(count - 1))"
        case .notOffered(let position, let nodes):
            "\(nodes) of the pieces name nodes that were not offered for segment \(position); store pieces only on the nodes offered for it"
        case .offerReplaced(let position):
            "segment \(position) was offered new nodes while this commit was checked; commit the pieces of the latest offer"
        case .missingSegments(let positions, let count):
            "the upload declared \(count) segments and segment\(positions.count == 1 ? "" : "s") "
                + positions.prefix(10).map(String.init).joined(separator: ", ") + (positions.count > 10 ? " and \(positions.count - 10) more" : "")
                + " \(positions.count == 1 ? "is" : "are") not committed"
        case .segmentCountMismatch(let declared, let given):
            "the upload declared \(declared) segments at its beginning; its commit names \(given)"
        case .segmentsBeyond(let count, let positions):
            "the commit names \(count) segments, but segment\(positions.count == 1 ? "" : "s") "
                + positions.prefix(10).map(String.init).joined(separator: ", ") + (positions.count > 10 ? " and \(positions.count - 10) more" : "")
                + " past them \(positions.count == 1 ? "is" : "are") committed"
        }
    }
}

/// Objects and their segments.
public protocol ObjectsDB: Sendable {
    /// A pending object with the next version of `key`, of `segmentCount` segments, with the
    /// nodes offered for its first positions (`offers[i]` for position i).
    func beginObject(
        project: Data, bucket: String, key: String, streamID: Data, segmentCount: Int?, offers: [SegmentOfferRecord], expiresAt: Date?,
        zombieDeadline: Date, at: Date
    ) throws -> ObjectRecord
    /// Records the nodes offered for positions `first`, `first + 1`, ... of a pending upload,
    /// replacing earlier offers for them.
    func offerSegments(project: Data, streamID: Data, first: Int, offers: [SegmentOfferRecord], at: Date) throws
    /// The bucket and expiration of a pending upload of the project.
    /// - Throws: ``ObjectConflict`` when there is no such upload, or it is committed.
    func pendingUpload(project: Data, streamID: Data) throws -> PendingUpload
    /// The latest offer for a position of a pending upload, with the offered nodes' public keys.
    /// - Throws: ``ObjectConflict`` when there is no such upload, or it is committed.
    func offeredSegment(project: Data, streamID: Data, position: Int) throws -> OfferedSegment
    /// Records a segment of a pending upload: its position within the declared count, its pieces
    /// on nodes the satellite knows that were offered for that position, under the offer's root
    /// piece id (``ObjectConflict/offerReplaced(position:)`` when the position was offered anew).
    /// Each commit moves the upload's zombie deadline to `zombieDeadline`, so that an upload
    /// still moving segments is never taken for abandoned, however long it runs.
    func commitSegment(project: Data, _ segment: SegmentRecord, zombieDeadline: Date, at: Date) throws
    /// Commits the pending object and deletes the older versions of its key, in one transaction.
    /// An upload begun without a segment count is given `segmentCount` here; one that declared
    /// its count may name it again, and must name the same.
    func commitObject(project: Data, streamID: Data, segmentCount: Int?) throws -> ObjectRecord
    /// The latest committed version of `key` (or committed `version`), how many segments it has,
    /// those at `positions` in order, and the addresses of the nodes their pieces are on, from one
    /// snapshot.
    func object(
        project: Data, bucket: String, key: String, version: Int?, positions: Range<Int>
    ) throws -> (object: ObjectRecord, segmentCount: Int, segments: [SegmentRecord], addresses: [Data: String])?
    /// Committed objects whose key starts with `prefix`, after `cursor`, in key order.
    func listObjects(project: Data, bucket: String, prefix: String, after cursor: String?, limit: Int) throws -> [ObjectRecord]
    /// Deletes every version of `key`; returns how many there were.
    func deleteObject(project: Data, bucket: String, key: String) throws -> Int
    /// The addresses of these nodes, by id.
    func addresses(of nodes: [Data]) throws -> [Data: String]
}

extension SatelliteDatabase: ObjectsDB {
    /// The most segments an object may have.
    public static let maxSegments = 10_000

    public func beginObject(
        project: Data, bucket: String, key: String, streamID: Data, segmentCount: Int?, offers: [SegmentOfferRecord], expiresAt: Date?,
        zombieDeadline: Date, at: Date
    ) throws -> ObjectRecord {
        try pool.write { db in
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

    public func offerSegments(project: Data, streamID: Data, first: Int, offers: [SegmentOfferRecord], at: Date) throws {
        try pool.write { db in
            // An upload of unknown length may have as many segments as any object.
            let segmentCount = try Self.pendingUpload(db, project: project, streamID: streamID) ?? Self.maxSegments
            if first + offers.count > segmentCount {
                throw ObjectConflict.positionOutOfRange(position: max(first, segmentCount), segmentCount: segmentCount)
            }
            try Self.recordOffers(db, streamID: streamID, first: first, offers: offers, at: at)
        }
    }

    public func commitSegment(project: Data, _ segment: SegmentRecord, zombieDeadline: Date, at: Date) throws {
        try pool.write { db in
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

    public func pendingUpload(project: Data, streamID: Data) throws -> PendingUpload {
        try readOneStatement { db in
            guard let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT status, bucket, expires_at FROM objects WHERE project_id = ? AND stream_id = ?"), arguments: [project, streamID]
            ) else { throw ObjectConflict.noSuchStream }
            guard row[0] as String == "pending" else { throw ObjectConflict.alreadyCommitted }
            return PendingUpload(bucket: row[1], expiresAt: row[2])
        }
    }

    public func offeredSegment(project: Data, streamID: Data, position: Int) throws -> OfferedSegment {
        try readInOneTransaction { db in
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

    public func commitObject(project: Data, streamID: Data, segmentCount given: Int?) throws -> ObjectRecord {
        try pool.write { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM objects WHERE project_id = ? AND stream_id = ?"), arguments: [project, streamID]) else {
                throw ObjectConflict.noSuchStream
            }
            guard row["status"] as String == "pending" else { throw ObjectConflict.alreadyCommitted }
            let declared = row["segment_count"] as Int?
            if let declared, let given, declared != given { throw ObjectConflict.segmentCountMismatch(declared: declared, given: given) }
            let committed = try Int.fetchAll(db.cachedStatement(sql: "SELECT position FROM segments WHERE stream_id = ? ORDER BY position"), arguments: [streamID])
            // Neither declared nor named (an upload begun before counts were): what was committed.
            let segmentCount = declared ?? given ?? committed.count
            let positions = Set(committed)
            if positions.filter({ $0 < segmentCount }).count < segmentCount {
                let missing = (0..<segmentCount).filter { !positions.contains($0) }
                throw ObjectConflict.missingSegments(positions: missing, segmentCount: segmentCount)
            }
            let beyond = committed.filter { $0 >= segmentCount }
            if !beyond.isEmpty { throw ObjectConflict.segmentsBeyond(segmentCount: segmentCount, positions: beyond) }
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
    ) throws -> (object: ObjectRecord, segmentCount: Int, segments: [SegmentRecord], addresses: [Data: String])? {
        try readInOneTransaction { db in
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

    public func listObjects(project: Data, bucket: String, prefix: String, after cursor: String?, limit: Int) throws -> [ObjectRecord] {
        try readOneStatement { db in
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

    public func deleteObject(project: Data, bucket: String, key: String) throws -> Int {
        try pool.write { db in
            try db.cachedStatement(sql: "DELETE FROM objects WHERE project_id = ? AND bucket = ? AND key = ?").execute(arguments: [project, bucket, key])
            return db.changesCount
        }
    }

    public func addresses(of nodes: [Data]) throws -> [Data: String] {
        try readInOneTransaction { db in try Self.addresses(db, of: nodes) }
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
