import Foundation
import Synchronization

/// At most one accepted check-in per node per interval, remembered in memory: a node that
/// checks in too often costs the satellite one dictionary lookup, not a database write.
public final class CheckInLimiter: Sendable {
    public let interval: Duration
    private let clock = ContinuousClock()
    private let accepted = Mutex<[Data: ContinuousClock.Instant]>([:])

    public init(interval: Duration) {
        self.interval = interval
    }

    /// Nil when `node` may check in now (and records it), or how long it must wait.
    public func admit(_ node: Data) -> Duration? {
        let now = clock.now
        return accepted.withLock { accepted in
            if let last = accepted[node], now - last < interval { return interval - (now - last) }
            accepted[node] = now
            // Forget nodes that have not been seen for an interval, so the table stays as large
            // as the set of nodes checking in, not every node ever seen.
            if accepted.count > 1024, accepted.count.isMultiple(of: 1024) {
                accepted = accepted.filter { now - $0.value < interval }
            }
            return nil
        }
    }
}
