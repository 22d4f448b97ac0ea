import Foundation
import Lifecycle
import Logging
import Metrics
import PeerRuntime
import SatelliteConfig
import SatelliteDB

/// The Core peer's accounting tally: per bucket, the bytes, segments and objects stored, on a
/// `Cycle`.
public final class Tally: Sendable {
    public let cycle: Cycle<ContinuousClock>
    private let db: any AccountingDB
    private let log: Logger
    private let durations: @Sendable (Duration) -> Void

    public init(config: TallyConfig, db: any AccountingDB, log: Logger, metrics: any MetricsFactory) {
        self.durations = SatelliteMetrics.chores.recorder("accounting:tally", factory: metrics)
        self.cycle = Cycle(interval: config.interval)
        self.db = db
        self.log = log
    }

    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "tally", finished: durations) { _ = try await self.tally() }
    }

    @discardableResult
    public func tally(at now: Date = Date()) async throws -> [BucketTally] {
        let tallies = try await db.tallyBuckets(at: now)
        log.info("tallied", metadata: ["buckets": "\(tallies.count)", "bytes": "\(tallies.reduce(0) { $0 + $1.bytes })"])
        return tallies
    }
}
