import Foundation

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

    public init(offer: SegmentOfferRecord?, publicKeys: [Data: Data]) {
        self.offer = offer
        self.publicKeys = publicKeys
    }
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

    public init(bucket: String, key: String, version: Int, streamID: Data, committed: Bool, createdAt: Date, expiresAt: Date?) {
        self.bucket = bucket
        self.key = key
        self.version = version
        self.streamID = streamID
        self.committed = committed
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
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

    public init(bucket: String, expiresAt: Date?) {
        self.bucket = bucket
        self.expiresAt = expiresAt
    }
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

extension ObjectConflict {
    /// The segment count a commit gives an upload that `declared` a count (or nil), named
    /// `given` at the commit (or nil), and has `committed` positions (in order): every backend
    /// holds a commit to the same rule.
    /// - Throws: ``segmentCountMismatch(declared:given:)``, ``missingSegments(positions:segmentCount:)``
    ///   or ``segmentsBeyond(segmentCount:positions:)``.
    public static func segmentCount(declared: Int?, given: Int?, committed: [Int]) throws -> Int {
        if let declared, let given, declared != given { throw segmentCountMismatch(declared: declared, given: given) }
        // Neither declared nor named (an upload begun before counts were): what was committed.
        let segmentCount = declared ?? given ?? committed.count
        let positions = Set(committed)
        if positions.filter({ $0 < segmentCount }).count < segmentCount {
            throw missingSegments(positions: (0..<segmentCount).filter { !positions.contains($0) }, segmentCount: segmentCount)
        }
        let beyond = committed.filter { $0 >= segmentCount }
        if !beyond.isEmpty { throw segmentsBeyond(segmentCount: segmentCount, positions: beyond) }
        return segmentCount
    }
}

/// The bounds an object's storage keeps to.
public enum ObjectLimits {
    /// The most segments an object may have.
    public static let maxSegments = 10_000
}

/// Objects and their segments.
public protocol ObjectsDB: Sendable {
    /// A pending object with the next version of `key`, of `segmentCount` segments, with the
    /// nodes offered for its first positions (`offers[i]` for position i).
    func beginObject(
        project: Data, bucket: String, key: String, streamID: Data, segmentCount: Int?, offers: [SegmentOfferRecord], expiresAt: Date?,
        zombieDeadline: Date, at: Date
    ) async throws -> ObjectRecord
    /// Records the nodes offered for positions `first`, `first + 1`, ... of a pending upload,
    /// replacing earlier offers for them.
    func offerSegments(project: Data, streamID: Data, first: Int, offers: [SegmentOfferRecord], at: Date) async throws
    /// The bucket and expiration of a pending upload of the project.
    /// - Throws: ``ObjectConflict`` when there is no such upload, or it is committed.
    func pendingUpload(project: Data, streamID: Data) async throws -> PendingUpload
    /// The latest offer for a position of a pending upload, with the offered nodes' public keys.
    /// - Throws: ``ObjectConflict`` when there is no such upload, or it is committed.
    func offeredSegment(project: Data, streamID: Data, position: Int) async throws -> OfferedSegment
    /// Records a segment of a pending upload: its position within the declared count, its pieces
    /// on nodes the satellite knows that were offered for that position, under the offer's root
    /// piece id (``ObjectConflict/offerReplaced(position:)`` when the position was offered anew).
    /// Each commit moves the upload's zombie deadline to `zombieDeadline`, so that an upload
    /// still moving segments is never taken for abandoned, however long it runs.
    func commitSegment(project: Data, _ segment: SegmentRecord, zombieDeadline: Date, at: Date) async throws
    /// Commits the pending object and deletes the older versions of its key, in one transaction.
    /// An upload begun without a segment count is given `segmentCount` here; one that declared
    /// its count may name it again, and must name the same.
    func commitObject(project: Data, streamID: Data, segmentCount: Int?) async throws -> ObjectRecord
    /// The latest committed version of `key` (or committed `version`), how many segments it has,
    /// those at `positions` in order, and the addresses of the nodes their pieces are on, from one
    /// snapshot.
    func object(
        project: Data, bucket: String, key: String, version: Int?, positions: Range<Int>
    ) async throws -> (object: ObjectRecord, segmentCount: Int, segments: [SegmentRecord], addresses: [Data: String])?
    /// Committed objects whose key starts with `prefix`, after `cursor`, in key order.
    func listObjects(project: Data, bucket: String, prefix: String, after cursor: String?, limit: Int) async throws -> [ObjectRecord]
    /// Deletes every version of `key`; returns how many there were.
    func deleteObject(project: Data, bucket: String, key: String) async throws -> Int
    /// The addresses of these nodes, by id.
    func addresses(of nodes: [Data]) async throws -> [Data: String]
}
