import Foundation
import Lifecycle
import Logging
import Metrics
import PeerRuntime
import SatelliteDB

/// The Repairer peer's worker: on each tick it claims up to `max-concurrent` queued segments,
/// most urgent first, under a lease, and works on them concurrently.
///
/// Moving pieces needs the storage-node protocol, which is not built yet; until it is, a segment
/// that truly needs repair has its attempt and the reason recorded and its claim released: no
/// repair is pretended. A segment that is gone or healthy again leaves the queue.
public final class RepairWorker: Sendable {
    public enum Outcome: Sendable, Equatable {
        case gone
        case healthy
        case irreparable(healthy: Int)
        case awaitingDataMovement(replacements: Int)
    }

    public let cycle: Cycle<ContinuousClock>
    private let config: RepairerConfig
    private let onlineWindow: Duration
    private let maxSegmentSize: Int64
    private let db: any RepairQueueDB & ObjectsDB
    private let threads: BlockingThreads
    private let selection: NodeSelectionCache
    private let log: Logger
    private let irreparable: Counter
    private let attempts: Counter
    private let durations: @Sendable (Duration) -> Void

    public init(
        config: RepairerConfig, onlineWindow: Duration, maxSegmentSize: Int64, db: any RepairQueueDB & ObjectsDB, threads: BlockingThreads, selection: NodeSelectionCache, log: Logger,
        metrics: any MetricsFactory
    ) {
        self.irreparable = Counter(label: "satellite_repair_irreparable_total", dimensions: [], factory: metrics)
        self.attempts = Counter(label: "satellite_repair_attempts_total", dimensions: [], factory: metrics)
        self.durations = SatelliteMetrics.chores.recorder("repair:worker", factory: metrics)
        self.config = config
        self.onlineWindow = onlineWindow
        self.maxSegmentSize = maxSegmentSize
        self.db = db
        self.threads = threads
        self.selection = selection
        self.log = log
        self.cycle = Cycle(interval: config.interval)
    }

    /// Claims and works on each tick or trigger. On graceful shutdown it claims nothing new and
    /// lets the work in flight finish; what it did not finish stays queued.
    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "repair round", finished: durations) { _ = try await self.claimAndWork() }
    }

    /// One round: claim, then work on every claim concurrently.
    public func claimAndWork(at now: Date = Date()) async throws -> [Outcome] {
        let claims = try await threads.run { try self.db.claimRepairs(limit: self.config.maxConcurrent, leaseCutoff: now - self.config.lease.timeInterval, at: now) }
        return try await withThrowingTaskGroup(of: Outcome.self) { group in
            for claim in claims {
                group.addTask { try await self.threads.run { try self.work(on: claim, at: now) } }
            }
            var outcomes: [Outcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
    }

    private func work(on claim: RepairEntry, at now: Date) throws -> Outcome {
        guard let segment = try db.segment(streamID: claim.streamID, position: claim.position) else {
            try db.removeFromQueue(streamID: claim.streamID, position: claim.position)
            return .gone
        }
        let onlineSince = now - onlineWindow.timeInterval
        let standings = try db.standings(of: Set(segment.pieces.map(\.node)))
        let healthy = SegmentHealth.healthyPieces(segment, standings: standings, onlineSince: onlineSince)
        guard SegmentHealth.needsRepair(healthy: healthy, redundancy: segment.redundancy) else {
            try db.removeFromQueue(streamID: claim.streamID, position: claim.position)
            return .healthy
        }
        attempts.increment()
        guard healthy >= segment.redundancy.k else {
            irreparable.increment()
            try db.releaseRepair(streamID: claim.streamID, position: claim.position, error: "irreparable: \(healthy) healthy pieces, \(segment.redundancy.k) needed")
            return .irreparable(healthy: healthy)
        }
        let usedNetworks = Set(standings.values.map(\.lastNet))
        let holders = Set(segment.pieces.map(\.node))
        let pieceSize = (maxSegmentSize + Int64(segment.redundancy.k) - 1) / Int64(segment.redundancy.k)
        let needed = segment.redundancy.optimal - healthy
        let candidates = try selection.select(count: needed, minFreeDisk: pieceSize, excluded: holders, excludedNetworks: usedNetworks, now: now)
        let reason = "needs \(needed) new pieces; \(candidates.count) replacement nodes are available, but moving pieces needs the storage-node protocol, which is not built yet"
        try db.releaseRepair(streamID: claim.streamID, position: claim.position, error: reason)
        log.info("repair attempted", metadata: ["position": "\(claim.position)", "healthy": "\(healthy)", "reason": .string(reason)])
        return .awaitingDataMovement(replacements: min(candidates.count, needed))
    }
}
