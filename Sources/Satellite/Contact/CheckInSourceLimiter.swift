import Foundation
import Synchronization

/// At most so many distinct nodes checking in from one source address within a window: minting
/// node ids costs nothing, so what bounds a flood of invented nodes is where they come from. A
/// node already seen from the source in the window always gets through.
///
/// The source is the address of the connection, so behind a proxy every node shares the proxy's;
/// and each API process keeps its own table, so `n` API processes admit up to `n` times the bound.
public final class CheckInSourceLimiter: Sendable {
    public let limit: Int
    public let window: Duration
    private let clock = ContinuousClock()
    /// Per source, the nodes seen from it and when last.
    private let seen = Mutex<[String: [Data: ContinuousClock.Instant]]>([:])
    /// The most sources remembered; past it the table is pruned, then refused growth.
    private let maxSources: Int

    /// `limit` 0 admits everything.
    public init(limit: Int, window: Duration, maxSources: Int = 100_000) {
        self.limit = limit
        self.window = window
        self.maxSources = maxSources
    }

    /// Nil when `node` may check in from `source` (and records it), or how long until a slot of
    /// the source frees.
    public func admit(_ node: Data, from source: String) -> Duration? {
        guard limit > 0 else { return nil }
        let now = clock.now
        return seen.withLock { seen in
            var nodes = (seen[source] ?? [:]).filter { now - $0.value < window }
            if nodes[node] == nil, nodes.count >= limit {
                seen[source] = nodes
                let oldest = nodes.values.min() ?? now
                return window - (now - oldest)
            }
            nodes[node] = now
            if seen[source] == nil, seen.count >= maxSources {
                seen = seen.filter { $0.value.values.contains { now - $0 < window } }
            }
            seen[source] = nodes
            return nil
        }
    }
}
