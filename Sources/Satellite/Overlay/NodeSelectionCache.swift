import Foundation
import PeerRuntime
import SatelliteDB
import Synchronization

/// Chooses nodes for uploads and repairs from a snapshot of the eligible nodes kept in memory,
/// as Storj's upload selection cache does: a random choice over the whole overlay is then a
/// shuffle of an array, not a sort of the nodes table on every request.
///
/// The snapshot is read again once it is older than `staleness`: a node that checks in for the
/// first time is offered from then on, and one that went offline or ran short of space is
/// filtered out at each choice anyway. A `staleness` of zero reads the table for every choice.
/// Calls block (they may read the database) and belong on the peer's ``BlockingThreads``.
public final class NodeSelectionCache: Sendable {
    private struct Snapshot {
        let nodes: [EligibleNode]
        let takenAt: ContinuousClock.Instant
    }

    private struct State {
        var snapshot: Snapshot?
        var refreshing = false
    }

    public let staleness: Duration
    /// Nodes not contacted within this window are left out.
    public let onlineWindow: Duration
    /// Whether a choice takes at most one node a network; off only where every node shares one
    /// (a network on one machine).
    public let distinctNetworks: Bool
    private let db: any OverlayDB
    private let state = Mutex(State())

    public init(staleness: Duration, onlineWindow: Duration, distinctNetworks: Bool = true, db: any OverlayDB) {
        self.staleness = staleness
        self.onlineWindow = onlineWindow
        self.distinctNetworks = distinctNetworks
        self.db = db
    }

    /// Up to `count` nodes in random order, at most one per network and none of `excluded` nor on
    /// `excludedNetworks`, each online within the window at `now` and with `minFreeDisk` bytes free.
    /// - Throws: the database's error when the snapshot had to be read and could not be.
    public func select(
        count: Int, minFreeDisk: Int64, excluded: Set<Data> = [], excludedNetworks: Set<String> = [], now: Date = Date()
    ) throws -> [NodeChoice] {
        let nodes = try current()
        var order = Array(nodes.indices)
        return choose(count: count, from: nodes, order: &order, minFreeDisk: minFreeDisk, excluded: excluded, excludedNetworks: excludedNetworks, now: now)
    }

    /// A choice as ``select(count:minFreeDisk:excluded:excludedNetworks:now:)`` makes for each of
    /// `segments` segments, each drawn anew, all from one snapshot: an upload of many segments
    /// reads the table at most once, whatever the staleness.
    /// - Throws: the database's error when the snapshot had to be read and could not be.
    public func select(segments: Int, count: Int, minFreeDisk: Int64, now: Date = Date()) throws -> [[NodeChoice]] {
        guard segments > 0 else { return [] }
        let nodes = try current()
        var order = Array(nodes.indices)
        var choices: [[NodeChoice]] = []
        choices.reserveCapacity(segments)
        for _ in 0..<segments {
            choices.append(choose(count: count, from: nodes, order: &order, minFreeDisk: minFreeDisk, excluded: [], excludedNetworks: [], now: now))
        }
        return choices
    }

    /// Draws from `nodes` in the order a partial Fisher-Yates shuffle of `order` gives. `order` is
    /// any permutation of the indices and is left one, so one array serves every segment of an
    /// upload, and a choice costs the nodes it looks at, not the size of the overlay.
    private func choose(
        count: Int, from nodes: [EligibleNode], order: inout [Int], minFreeDisk: Int64, excluded: Set<Data>, excludedNetworks: Set<String>, now: Date
    ) -> [NodeChoice] {
        let onlineSince = now - onlineWindow.timeInterval
        var networks = excludedNetworks
        var chosen: [NodeChoice] = []
        var next = 0
        // Drawn only as far as needed.
        while chosen.count < count, next < order.count {
            order.swapAt(next, Int.random(in: next..<order.count))
            let node = nodes[order[next]]
            next += 1
            guard node.freeDisk >= minFreeDisk, node.lastContactSuccess >= onlineSince, !excluded.contains(node.choice.id),
                !distinctNetworks || networks.insert(node.choice.lastNet).inserted
            else { continue }
            chosen.append(node.choice)
        }
        return chosen
    }

    /// The snapshot, read again if it is stale. While one caller reads it the others keep
    /// choosing from the old one; only the very first choice waits.
    private func current() throws -> [EligibleNode] {
        guard staleness > .zero else { return try db.eligibleNodes(onlineSince: Date() - onlineWindow.timeInterval) }
        let now = ContinuousClock.now
        let (fresh, stale) = state.withLock { state -> ([EligibleNode]?, [EligibleNode]?) in
            if let snapshot = state.snapshot, now - snapshot.takenAt < staleness { return (snapshot.nodes, nil) }
            if state.refreshing, let snapshot = state.snapshot { return (snapshot.nodes, nil) }
            state.refreshing = true
            return (nil, state.snapshot?.nodes)
        }
        if let fresh { return fresh }
        do {
            let nodes = try db.eligibleNodes(onlineSince: Date() - onlineWindow.timeInterval)
            state.withLock { $0 = State(snapshot: Snapshot(nodes: nodes, takenAt: now), refreshing: false) }
            return nodes
        } catch {
            state.withLock { $0.refreshing = false }
            if let stale { return stale }
            throw error
        }
    }
}
