import Foundation
import Lifecycle
import Logging
import Metrics
import PeerRuntime
import SatelliteConfig
import SatelliteDB

/// The Core peer's chore that deletes objects past their `expires_at` and pending uploads past
/// their zombie deadline, a batch per transaction so that a large backlog never holds the
/// database's write lock for long.
public final class ExpiredDeletion: Sendable {
    public struct Pass: Sendable, Equatable {
        public var expired = 0
        public var zombies = 0

        public init(expired: Int = 0, zombies: Int = 0) {
            self.expired = expired
            self.zombies = zombies
        }
    }

    public let cycle: Cycle<ContinuousClock>
    private let config: DeletionConfig
    private let db: any AccountingDB
    private let log: Logger
    private let durations: @Sendable (Duration) -> Void

    public init(config: DeletionConfig, db: any AccountingDB, log: Logger, metrics: any MetricsFactory) {
        self.durations = SatelliteMetrics.chores.recorder("metainfo:deletion", factory: metrics)
        self.cycle = Cycle(interval: config.interval)
        self.config = config
        self.db = db
        self.log = log
    }

    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "deletion", finished: durations) { _ = try await self.pass() }
    }

    public func pass(at now: Date = Date()) async throws -> Pass {
        var pass = Pass()
        while case let deleted = try await db.deleteExpiredObjects(before: now, limit: config.batchSize), deleted > 0 {
            pass.expired += deleted
        }
        while case let deleted = try await db.deleteZombieObjects(before: now, limit: config.batchSize), deleted > 0 {
            pass.zombies += deleted
        }
        if pass.expired + pass.zombies > 0 {
            log.info("deleted", metadata: ["expired": "\(pass.expired)", "zombies": "\(pass.zombies)"])
        }
        return pass
    }
}
