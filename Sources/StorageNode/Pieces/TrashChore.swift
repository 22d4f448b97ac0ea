import Foundation
import Lifecycle
import Logging
import Metrics
import PeerRuntime

/// Empties the piece store's trash of what has been there longer than the grace period, on a `Cycle`.
public final class TrashChore: Sendable {
    public let cycle: Cycle<ContinuousClock>
    private let store: PieceStore
    private let grace: Duration
    private let threads: BlockingThreads
    private let log: Logger
    private let durations: @Sendable (Duration) -> Void

    public init(store: PieceStore, grace: Duration, interval: Duration?, threads: BlockingThreads, log: Logger, metrics: any MetricsFactory) {
        cycle = Cycle(interval: interval, delayStart: true)
        self.store = store
        self.grace = grace
        self.threads = threads
        self.log = log
        durations = ChoreMetrics(namespace: "storagenode").recorder("pieces:trash", factory: metrics)
    }

    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "emptying the trash", finished: durations) {
            let store = self.store
            let cutoff = Date().addingTimeInterval(-self.grace.timeInterval)
            let removed = try await self.threads.run { store.emptyTrash(olderThan: cutoff) }
            if removed > 0 { self.log.info("emptied the trash", metadata: ["pieces": "\(removed)"]) }
        }
    }
}

/// Counts the space the pieces take again, on a `Cycle` (Storj's used-space filewalker), so that
/// the free space the node reports and admits uploads by stays true to the disk.
public final class UsedSpaceChore: Sendable {
    public let cycle: Cycle<ContinuousClock>
    private let store: PieceStore
    private let threads: BlockingThreads
    private let log: Logger
    private let durations: @Sendable (Duration) -> Void

    public init(store: PieceStore, interval: Duration?, threads: BlockingThreads, log: Logger, metrics: any MetricsFactory) {
        cycle = Cycle(interval: interval, delayStart: true)
        self.store = store
        self.threads = threads
        self.log = log
        durations = ChoreMetrics(namespace: "storagenode").recorder("pieces:used-space", factory: metrics)
    }

    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "counting used space", finished: durations) {
            let store = self.store
            let (before, after) = try await self.threads.run { store.rescan() }
            if before != after { self.log.notice("the used space had drifted from the disk", metadata: ["counted": "\(before)", "on_disk": "\(after)"]) }
        }
    }
}
