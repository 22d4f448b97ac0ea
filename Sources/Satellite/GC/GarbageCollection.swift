import Foundation
import Identity
import Lifecycle
import Logging
import Metrics
import NodeProtocol
import PeerRuntime
import PieceTransfer
import SatelliteConfig
import SatelliteDB

/// Storj's garbage collection by bloom filter, run by the Repairer peer (the peer that talks to
/// nodes with the satellite's key): a pass reads every segment, puts the piece id of each piece
/// into its node's filter, and sends every online node its filter, signed; the node trashes its
/// pieces of this satellite older than the pass (less `gc.grace`) that are certainly not in it.
/// One mechanism for every kind of garbage: deleted and expired objects, abandoned uploads, pieces
/// the long tail left behind, pieces a node stored while it was offline to a delete.
public final class GarbageCollection: Sendable {
    /// What a pass did.
    public struct Pass: Sendable, Equatable {
        public var nodes = 0
        public var pieces = 0
        public var trashed = 0
        /// The nodes that did not take their filter, and why.
        public var failures: [String] = []
    }

    public let cycle: Cycle<ContinuousClock>
    private let config: GCConfig
    private let onlineWindow: Duration
    private let db: any RepairQueueDB & OverlayDB
    private let pieces: PieceClient
    private let identity: PeerIdentity
    private let log: Logger
    private let trashedCounter: Counter
    private let durations: @Sendable (Duration) -> Void

    public init(
        config: GCConfig, onlineWindow: Duration, db: any RepairQueueDB & OverlayDB, pieces: PieceClient, identity: PeerIdentity,
        log: Logger, metrics: any MetricsFactory
    ) {
        self.config = config
        self.onlineWindow = onlineWindow
        self.db = db
        self.pieces = pieces
        self.identity = identity
        self.log = log
        trashedCounter = Counter(label: "satellite_gc_pieces_trashed_total", dimensions: [], factory: metrics)
        durations = SatelliteMetrics.chores.recorder("gc:retain", factory: metrics)
        cycle = Cycle(interval: config.interval)
    }

    /// Collects on each tick or trigger; on graceful shutdown the pass in flight finishes.
    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "garbage collection", finished: durations) { _ = try await self.pass() }
    }

    public func pass(at now: Date = Date()) async throws -> Pass {
        let createdBefore = Int64((now - config.grace.timeInterval).timeIntervalSince1970.rounded(.down))
        let db = self.db
        // Suspended and exiting nodes keep pieces too.
        let nodes = try await db.keepingNodes(onlineSince: now - self.onlineWindow.timeInterval)
        // Two passes over the segments: one to size each node's filter, one to fill it.
        var counts: [Data: Int] = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, 0) })
        try await eachSegment { segment in
            for piece in segment.pieces where counts[piece.node] != nil { counts[piece.node]! += 1 }
        }
        var filters = counts.mapValues { BloomFilter(expected: $0, falsePositiveRate: Double(config.falsePositivePercent) / 100) }
        var pass = Pass()
        try await eachSegment { segment in
            guard let root = segment.rootPieceID.flatMap(PieceID.init(bytes:)) else { return }
            for piece in segment.pieces where filters[piece.node] != nil {
                guard let node = NodeID(bytes: piece.node) else { continue }
                filters[piece.node]!.insert(root.derived(forNode: node, number: piece.number))
                pass.pieces += 1
            }
        }
        pass.nodes = nodes.count
        let requests = filters.mapValues { RetainRequest.signed(by: identity, createdBefore: createdBefore, filter: $0) }
        let outcomes = await withTaskGroup(of: (String, Result<Int, any Error>).self) { group in
            for node in nodes {
                guard let request = requests[node.id] else { continue }
                group.addTask { [pieces] in
                    do {
                        return (node.address, .success(try await pieces.retain(at: node.address, request).trashed))
                    } catch {
                        return (node.address, .failure(error))
                    }
                }
            }
            var outcomes: [(String, Result<Int, any Error>)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        for (address, outcome) in outcomes {
            switch outcome {
            case .success(let trashed): pass.trashed += trashed
            case .failure(let error): pass.failures.append("\(address): \(error)")
            }
        }
        trashedCounter.increment(by: pass.trashed)
        log.info("garbage collected", metadata: ["nodes": "\(pass.nodes)", "pieces": "\(pass.pieces)", "trashed": "\(pass.trashed)", "failed": "\(pass.failures.count)"])
        return pass
    }

    /// Every segment, a batch of 1000 at a time.
    private func eachSegment(_ body: (SegmentRecord) -> Void) async throws {
        let db = self.db
        var cursor: (streamID: Data, position: Int)?
        while true {
            let after = cursor
            let batch = try await db.segments(after: after, limit: 1000)
            for segment in batch { body(segment) }
            guard let last = batch.last else { return }
            cursor = (last.streamID, last.position)
        }
    }
}
