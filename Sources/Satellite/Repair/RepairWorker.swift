import Foundation
import Lifecycle
import Logging
import Metrics
import PeerRuntime
import PieceTransfer
import SatelliteDB
import Synchronization

/// The Repairer peer's worker: on each tick it claims up to `max-concurrent` queued segments,
/// most urgent first, under a lease, and repairs them concurrently (``SegmentRepairer``). A
/// segment that is gone or healthy again leaves the queue; one repaired leaves it too; one that
/// could not be repaired this time has the reason recorded and its claim released. A repairer
/// killed mid-repair changes nothing: the piece list is swapped in one transaction at the end, and
/// the claim's lease runs out for the next.
public final class RepairWorker: Sendable {
    public enum Outcome: Sendable, Equatable {
        case gone
        case healthy
        case irreparable(healthy: Int)
        /// The segment holds `pieces` pieces now, `added` of them new.
        case repaired(pieces: Int, added: Int)
        /// The segment changed while it was repaired; the repair was dropped.
        case changed
        case failed(String)
    }

    public let cycle: Cycle<ContinuousClock>
    private let config: RepairerConfig
    private let onlineWindow: Duration
    private let distinctNetworks: Bool
    private let db: any RepairQueueDB & ObjectsDB
    private let repairer: SegmentRepairer
    private let log: Logger
    private let irreparable: Counter
    private let attempts: Counter
    private let repaired: Counter
    private let piecesAdded: Counter
    private let bytesDownloaded: Counter
    private let bytesUploaded: Counter
    private let durations: @Sendable (Duration) -> Void

    public init(
        config: RepairerConfig, onlineWindow: Duration, distinctNetworks: Bool, db: any RepairQueueDB & ObjectsDB, selection: NodeSelectionCache,
        signer: OrderSigner, pieces: PieceClient, log: Logger, metrics: any MetricsFactory
    ) {
        self.irreparable = Counter(label: "satellite_repair_irreparable_total", dimensions: [], factory: metrics)
        self.attempts = Counter(label: "satellite_repair_attempts_total", dimensions: [], factory: metrics)
        self.repaired = Counter(label: "satellite_repair_succeeded_total", dimensions: [], factory: metrics)
        self.piecesAdded = Counter(label: "satellite_repair_pieces_added_total", dimensions: [], factory: metrics)
        self.bytesDownloaded = Counter(label: "satellite_repair_bytes_total", dimensions: [("direction", "downloaded")], factory: metrics)
        self.bytesUploaded = Counter(label: "satellite_repair_bytes_total", dimensions: [("direction", "uploaded")], factory: metrics)
        self.durations = SatelliteMetrics.chores.recorder("repair:worker", factory: metrics)
        self.config = config
        self.onlineWindow = onlineWindow
        self.distinctNetworks = distinctNetworks
        self.db = db
        self.repairer = SegmentRepairer(signer: signer, pieces: pieces, db: db, selection: selection)
        self.log = log
        self.cycle = Cycle(interval: config.interval)
    }

    /// Runs `hook` in every repair after its new pieces are stored and before the segment's piece
    /// list is swapped (nil removes it): for tests that race a repair with a delete or an overwrite.
    public func testingBeforeSwap(_ hook: (@Sendable () async throws -> Void)?) {
        repairer.beforeSwap.withLock { $0 = hook }
    }

    /// Claims and works on each tick or trigger. On graceful shutdown it claims nothing new and
    /// lets the work in flight finish; what it did not finish stays queued.
    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "repair round", finished: durations) { _ = try await self.claimAndWork() }
    }

    /// One round: claim, then work on every claim concurrently.
    public func claimAndWork(at now: Date = Date()) async throws -> [Outcome] {
        let claims = try await self.db.claimRepairs(limit: self.config.maxConcurrent, leaseCutoff: now - self.config.lease.timeInterval, at: now)
        return try await withThrowingTaskGroup(of: Outcome.self) { group in
            for claim in claims {
                group.addTask { try await self.work(on: claim, at: now) }
            }
            var outcomes: [Outcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
    }

    private func work(on claim: RepairEntry, at now: Date) async throws -> Outcome {
        let db = self.db
        guard let segment = try await db.segment(streamID: claim.streamID, position: claim.position) else {
            try await db.removeFromQueue(streamID: claim.streamID, position: claim.position)
            return .gone
        }
        let onlineSince = now - onlineWindow.timeInterval
        let standings = try await db.standings(of: Set(segment.pieces.map(\.node)))
        let healthy = SegmentHealth.healthy(segment, standings: standings, onlineSince: onlineSince, distinctNetworks: distinctNetworks)
        guard SegmentHealth.needsRepair(healthy: healthy.count, redundancy: segment.redundancy) else {
            try await db.removeFromQueue(streamID: claim.streamID, position: claim.position)
            return .healthy
        }
        attempts.increment()
        guard healthy.count >= segment.redundancy.k else {
            irreparable.increment()
            let reason = "irreparable: \(healthy.count) healthy pieces, \(segment.redundancy.k) needed"
            try await db.releaseRepair(streamID: claim.streamID, position: claim.position, error: reason)
            log.warning("segment irreparable", metadata: ["position": "\(claim.position)", "healthy": "\(healthy.count)", "k": "\(segment.redundancy.k)"])
            return .irreparable(healthy: healthy.count)
        }
        let usedNetworks = distinctNetworks ? Set(healthy.compactMap { standings[$0.node]?.lastNet }) : []
        switch try await repairer.repair(segment, healthy: healthy, usedNetworks: usedNetworks, now: now) {
        case .repaired(let pieces, let added, let notStored, let read, let written):
            repaired.increment()
            piecesAdded.increment(by: added)
            bytesDownloaded.increment(by: read)
            bytesUploaded.increment(by: written)
            try await db.removeFromQueue(streamID: claim.streamID, position: claim.position)
            var metadata: Logger.Metadata = ["position": "\(claim.position)", "healthy": "\(healthy.count)", "pieces": "\(pieces)", "added": "\(added)", "read": "\(read)", "written": "\(written)"]
            if !notStored.isEmpty { metadata["not-stored"] = .string(notStored.joined(separator: "; ")) }
            log.info("segment repaired", metadata: metadata)
            return .repaired(pieces: pieces, added: added)
        case .segmentChanged:
            try await db.removeFromQueue(streamID: claim.streamID, position: claim.position)
            log.info("repair dropped: the segment changed meanwhile", metadata: ["position": "\(claim.position)"])
            return .changed
        case .failed(let reason):
            try await db.releaseRepair(streamID: claim.streamID, position: claim.position, error: reason)
            log.info("repair failed", metadata: ["position": "\(claim.position)", "healthy": "\(healthy.count)", "reason": .string(reason)])
            return .failed(reason)
        }
    }
}
