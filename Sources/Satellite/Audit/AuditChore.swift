import Foundation
import Identity
import Lifecycle
import Logging
import Metrics
import PeerRuntime
import PieceTransfer
import SatelliteConfig
import SatelliteDB

/// Storj's audits, run by the Repairer peer (the peer that talks to nodes with the satellite's
/// key): a pass samples each node's segments into a reservoir of 3, weighted by size (A-Res,
/// satellite/audit/reservoir.go), so that a node with few pieces is audited as surely as one with
/// many; then it audits one segment from each of up to `audit.segments-per-pass` nodes' samples
/// (``Verifier``) and feeds the outcomes to the nodes' reputations.
public final class AuditChore: Sendable {
    /// What a pass did.
    public struct Pass: Sendable, Equatable {
        public var audited = 0
        public var successes = 0
        public var fails = 0
        public var offline = 0
        public var unknown = 0
        public var disqualified: [Data] = []
    }

    public let cycle: Cycle<ContinuousClock>
    private let config: AuditConfig
    private let db: any RepairQueueDB & ObjectsDB & ContainmentDB
    private let verifier: Verifier
    private let reputation: ReputationService
    private let log: Logger
    private let outcomes: @Sendable (String, Int) -> Void
    /// Counts nodes disqualified, suspended and released from suspension.
    private let standingChanges: @Sendable (String, Int) -> Void
    private let durations: @Sendable (Duration) -> Void

    public init(
        config: AuditConfig, db: any RepairQueueDB & ObjectsDB & ReputationDB & ContainmentDB, signer: OrderSigner, pieces: PieceClient,
        reputation: ReputationConfig, log: Logger, metrics: any MetricsFactory
    ) {
        self.config = config
        self.db = db
        verifier = Verifier(signer: signer, pieces: pieces, db: db)
        self.reputation = ReputationService(config: reputation, db: db)
        self.log = log
        outcomes = { outcome, count in Counter(label: "satellite_audit_outcomes_total", dimensions: [("outcome", outcome)], factory: metrics).increment(by: count) }
        standingChanges = { change, count in
            Counter(label: "satellite_reputation_changes_total", dimensions: [("change", change)], factory: metrics).increment(by: count)
        }
        durations = SatelliteMetrics.chores.recorder("audit:chore", factory: metrics)
        cycle = Cycle(interval: config.interval)
    }

    /// Audits on each tick or trigger; on graceful shutdown the pass in flight finishes.
    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "audit pass", finished: durations) { _ = try await self.pass() }
    }

    /// Audits `segment` (at `stripe`, or a random one), skipping contained nodes, records the
    /// outcome in the nodes' reputations and contains the nodes that timed out.
    public func audit(_ segment: SegmentRecord, stripe: Int? = nil) async throws -> AuditReport {
        let db = self.db
        let contained = Set(try await db.pendingAudits().map(\.node))
        let report = try await verifier.verify(segment, stripe: stripe, skipping: contained)
        for pending in report.contained where try await db.contain(pending, at: Date()) {
            log.info("node contained", metadata: ["node": .string(Hex.encode(pending.node)), "position": "\(pending.position)"])
        }
        if report.noVerdict == nil {
            let recorded = report.successes.map { (node: $0, verdict: AuditVerdict.success) } + report.fails.map { ($0, .failure) } + report.unknown.map { ($0, .unknown) }
            try await record(recorded)
        }
        for (outcome, nodes) in [
            ("success", report.successes), ("fail", report.fails), ("offline", report.offline), ("unknown", report.unknown), ("contained", report.contained.map(\.node)),
        ] where !nodes.isEmpty {
            outcomes(outcome, nodes.count)
        }
        if !report.fails.isEmpty {
            log.warning("audit failed nodes", metadata: ["position": "\(segment.position)", "failed": .array(report.fails.map { .string(Hex.encode($0)) })])
        }
        return report
    }

    /// Records the verdicts in the reputations, and logs and counts what they changed.
    private func record(_ verdicts: [(node: Data, verdict: AuditVerdict)]) async throws {
        let changes = try await self.reputation.record(verdicts)
        for (change, nodes) in [("disqualified", changes.disqualified), ("suspended", changes.suspended), ("unsuspended", changes.unsuspended)] {
            for node in nodes {
                log.log(level: change == "unsuspended" ? .info : .warning, "node \(change)", metadata: ["node": .string(Hex.encode(node))])
            }
            if !nodes.isEmpty { standingChanges(change, nodes.count) }
        }
    }

    /// Asks each contained node for its pending audit's whole piece: an answer that proves the
    /// piece is a success and one that does not a failure (either releases the node); a timeout
    /// counts, and the `audit.max-reverifications`-th is a failure; an offline node stays contained.
    public func reverify() async throws -> [(node: Data, outcome: String)] {
        let db = self.db
        var outcomes: [(node: Data, outcome: String)] = []
        for pending in try await db.pendingAudits() {
            let outcome: String
            switch try await verifier.reverify(pending) {
            case .success:
                try await record([(pending.node, .success)])
                try await db.release(pending.node)
                outcome = "success"
            case .fail(let why):
                log.warning("reverification failed", metadata: ["node": .string(Hex.encode(pending.node)), "reason": .string(why)])
                try await record([(pending.node, .failure)])
                try await db.release(pending.node)
                outcome = "fail"
            case .timedOut:
                let count = try await db.countReverification(of: pending.node)
                if count >= config.maxReverifications {
                    try await record([(pending.node, .failure)])
                    try await db.release(pending.node)
                    outcome = "fail"
                } else {
                    outcome = "timed out"
                }
            case .offline:
                outcome = "offline"
            case .gone:
                try await db.release(pending.node)
                outcome = "gone"
            }
            outcomes.append((pending.node, outcome))
        }
        return outcomes
    }

    /// Reverifies the contained nodes, then audits a sample of segments.
    public func pass() async throws -> Pass {
        _ = try await reverify()
        // Every node's reservoir of 3: a segment's key is u^(1/weight) for u uniform in (0, 1).
        var reservoirs: [Data: [(key: Double, streamID: Data, position: Int)]] = [:]
        let db = self.db
        var cursor: (streamID: Data, position: Int)?
        while true {
            let after = cursor
            let batch = try await db.segments(after: after, limit: 1000)
            for segment in batch {
                let key = pow(Double.random(in: Double.ulpOfOne..<1), 1 / Double(max(segment.encryptedSize, 1)))
                for piece in segment.pieces {
                    var slots = reservoirs[piece.node, default: []]
                    if slots.count < 3 {
                        slots.append((key, segment.streamID, segment.position))
                    } else if let lowest = slots.indices.min(by: { slots[$0].key < slots[$1].key }), slots[lowest].key < key {
                        slots[lowest] = (key, segment.streamID, segment.position)
                    }
                    reservoirs[piece.node] = slots
                }
            }
            guard let last = batch.last else { break }
            cursor = (last.streamID, last.position)
        }
        var chosen: [(Data, Int)] = []
        var seen = Set<String>()
        for slots in reservoirs.values.shuffled() {
            guard chosen.count < config.segmentsPerPass, let pick = slots.randomElement() else { continue }
            if seen.insert(Hex.encode(pick.streamID) + "/\(pick.position)").inserted { chosen.append((pick.streamID, pick.position)) }
        }
        var pass = Pass()
        for (streamID, position) in chosen {
            guard let segment = try await db.segment(streamID: streamID, position: position) else { continue }
            let report = try await audit(segment)
            guard report.noVerdict == nil else { continue }
            pass.audited += 1
            pass.successes += report.successes.count
            pass.fails += report.fails.count
            pass.offline += report.offline.count
            pass.unknown += report.unknown.count
        }
        return pass
    }
}
