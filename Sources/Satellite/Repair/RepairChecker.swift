import Foundation
import Identity
import Lifecycle
import Logging
import Metrics
import PeerRuntime
import SatelliteDB

/// The Core peer's repair checker: a chore that passes over every segment in batches, counts
/// each one's healthy pieces, queues (or updates) those at or below their repair threshold, most
/// urgent first, and at the end of a full pass removes the entries it did not see again.
public final class RepairChecker: Sendable {
    /// What one pass found.
    public struct Pass: Sendable, Equatable {
        public var segments = 0
        public var queued = 0
        public var irreparable = 0
        public var removed = 0
    }

    public let cycle: Cycle<ContinuousClock>
    /// The overlay's rule: pieces on one network count once.
    private let distinctNetworks: Bool
    /// The overlay's online window, in whole seconds.
    public var onlineWindowSeconds: Int64 { onlineWindow.components.seconds }
    private let config: CheckerConfig
    private let onlineWindow: Duration
    private let db: any RepairQueueDB
    private let log: Logger
    private let queueLength: Gauge
    private let irreparable: Gauge
    private let durations: @Sendable (Duration) -> Void

    public init(
        config: CheckerConfig, onlineWindow: Duration, distinctNetworks: Bool = true, db: any RepairQueueDB, log: Logger,
        metrics: any MetricsFactory
    ) {
        self.distinctNetworks = distinctNetworks
        self.config = config
        self.onlineWindow = onlineWindow
        self.db = db
        self.log = log
        self.cycle = Cycle(interval: config.interval)
        self.queueLength = Gauge(label: "satellite_repair_queue_length", dimensions: [], factory: metrics)
        self.irreparable = Gauge(label: "satellite_repair_irreparable_segments", dimensions: [], factory: metrics)
        self.durations = SatelliteMetrics.chores.recorder("repair:checker", factory: metrics)
    }

    /// Passes on every tick or trigger until the peer stops; a pass that fails is logged and the
    /// next one tries again. A pass under way when
    /// the peer stops finishes first.
    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "pass", finished: durations) { _ = try await self.pass() }
    }

    /// One full pass over every segment.
    public func pass(at now: Date = Date()) async throws -> Pass {
        // Stored times have millisecond precision; the pass's own mark must compare equal to them.
        let start = Date(timeIntervalSince1970: (now.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        let onlineSince = start - onlineWindow.timeInterval
        var report = Pass()
        var cursor: (streamID: Data, position: Int)?
        // Each node's standing is read once per pass, when a batch first names it: there are far
        // fewer nodes than segments.
        var standings: [Data: NodeStanding] = [:]
        var looked = Set<Data>()
        while true {
            let batch = try await db.segments(after: cursor, limit: config.batchSize)
            guard let last = batch.last else { break }
            cursor = (last.streamID, last.position)
            var unseen = Set<Data>()
            for segment in batch {
                for piece in segment.pieces where !looked.contains(piece.node) { unseen.insert(piece.node) }
            }
            if !unseen.isEmpty {
                standings.merge(try await db.standings(of: unseen)) { $1 }
                looked.formUnion(unseen)
            }
            var candidates: [RepairCandidate] = []
            for segment in batch {
                report.segments += 1
                let healthy = SegmentHealth.healthyPieces(segment, standings: standings, onlineSince: onlineSince, distinctNetworks: distinctNetworks)
                guard SegmentHealth.needsRepair(healthy: healthy, redundancy: segment.redundancy) else { continue }
                if healthy < segment.redundancy.k {
                    report.irreparable += 1
                    log.warning("irreparable segment", metadata: [
                        "stream_id": .string(Hex.encode(segment.streamID)),
                        "position": "\(segment.position)", "healthy": "\(healthy)", "k": "\(segment.redundancy.k)",
                    ])
                }
                candidates.append(RepairCandidate(
                    streamID: segment.streamID, position: segment.position, health: SegmentHealth.score(healthy: healthy, redundancy: segment.redundancy)
                ))
            }
            try await db.queueForRepair(candidates, at: start)
            report.queued += candidates.count
        }
        report.removed = try await db.removeQueueEntries(notSeenSince: start)
        queueLength.record(report.queued)
        irreparable.record(report.irreparable)
        log.info("pass", metadata: ["segments": "\(report.segments)", "queued": "\(report.queued)", "irreparable": "\(report.irreparable)", "removed": "\(report.removed)"])
        return report
    }
}
