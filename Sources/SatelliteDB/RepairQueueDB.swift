import Foundation

/// What the repair checker needs to know of a node to count its pieces.
public struct NodeStanding: Sendable, Equatable {
    public let lastNet: String
    public let lastContactSuccess: Date?
    public let disqualified: Bool
    public let exiting: Bool

    public init(lastNet: String, lastContactSuccess: Date?, disqualified: Bool, exiting: Bool) {
        self.lastNet = lastNet
        self.lastContactSuccess = lastContactSuccess
        self.disqualified = disqualified
        self.exiting = exiting
    }
}

/// An entry of the repair queue.
public struct RepairEntry: Sendable, Equatable {
    public let streamID: Data
    public let position: Int
    public let health: Double
    public let attempts: Int

    public init(streamID: Data, position: Int, health: Double, attempts: Int) {
        self.streamID = streamID
        self.position = position
        self.health = health
        self.attempts = attempts
    }
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
    func segments(after cursor: (streamID: Data, position: Int)?, limit: Int) async throws -> [SegmentRecord]
    /// The standing of each of these nodes that the overlay knows.
    func standings(of nodes: Set<Data>) async throws -> [Data: NodeStanding]
    /// Queues each segment or updates its health, in one transaction; either way each counts as
    /// seen at `at`.
    func queueForRepair(_ candidates: [RepairCandidate], at: Date) async throws
    /// Removes the segment's entry, if any.
    func removeFromQueue(streamID: Data, position: Int) async throws
    /// Removes the entries not queued or updated since `since` (not seen by the last full pass).
    func removeQueueEntries(notSeenSince since: Date) async throws -> Int
    /// Claims up to `limit` entries, most urgent first, that nobody claimed after `leaseCutoff`,
    /// marking them attempted at `at`, in one write transaction: two claimers never get one entry.
    func claimRepairs(limit: Int, leaseCutoff: Date, at: Date) async throws -> [RepairEntry]
    /// Gives an entry back with the reason the attempt did not repair it.
    func releaseRepair(streamID: Data, position: Int, error: String) async throws
    func repairQueue() async throws -> [RepairEntry]
    /// One segment, if it still exists.
    func segment(streamID: Data, position: Int) async throws -> SegmentRecord?
    /// Whose segment it is (the object's project and bucket) and when it expires, if it exists.
    func owner(ofStream streamID: Data) async throws -> SegmentOwner?
    /// Replaces the segment's pieces with `pieces` if they are still `expected`, in one write
    /// transaction: a repair that raced a delete, an overwrite or another repair changes nothing
    /// and learns so (false).
    func replacePieces(streamID: Data, position: Int, expected: [Piece], with pieces: [Piece]) async throws -> Bool
}

/// The object a segment belongs to, as a repair needs it: whom its traffic is billed to, and when
/// its pieces may expire.
public struct SegmentOwner: Sendable, Equatable {
    public let project: Data
    public let bucket: String
    public let expiresAt: Date?

    public init(project: Data, bucket: String, expiresAt: Date?) {
        self.project = project
        self.bucket = bucket
        self.expiresAt = expiresAt
    }
}
