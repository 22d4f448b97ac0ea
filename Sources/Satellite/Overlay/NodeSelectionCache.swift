import Foundation
import PeerRuntime
import SatelliteDB
import Synchronization

/// Chooses nodes for uploads and repairs from a snapshot of the eligible nodes kept in memory,
/// as Storj's upload selection cache does: a random choice over the whole overlay is then a
/// shuffle of an array, not a sort of the nodes table on every request.
///
/// Nodes audited fewer than `vettingAudits` times are new (unvetted): at most
/// `newNodeFraction` of a choice (rounded down, as Storj's upload selection does) goes to them,
/// and vetted nodes make up the rest, never the other way round, so that a flood of new
/// identities cannot take the uploads. With `vettingAudits` 0 every node is vetted.
///
/// The snapshot is read again once it is older than `staleness`: a node that checks in for the
/// first time is offered from then on, and one that went offline or ran short of space is
/// filtered out at each choice anyway. A `staleness` of zero reads the table for every choice.
/// A choice awaits the database only when the snapshot must be read.
public final class NodeSelectionCache: Sendable {
    /// The eligible nodes, vetted and new apart.
    private struct Nodes {
        let vetted: [EligibleNode]
        let new: [EligibleNode]

        init(_ nodes: [EligibleNode], vettingAudits: Int) {
            vetted = nodes.filter { $0.audits >= vettingAudits }
            new = nodes.filter { $0.audits < vettingAudits }
        }
    }

    private struct Snapshot {
        let nodes: Nodes
        let takenAt: ContinuousClock.Instant
    }

    /// A snapshot's nodes, each kind with the order its draws leave it in.
    private struct Pools {
        let nodes: Nodes
        var vettedOrder: [Int]
        var newOrder: [Int]

        init(_ nodes: Nodes) {
            self.nodes = nodes
            vettedOrder = Array(nodes.vetted.indices)
            newOrder = Array(nodes.new.indices)
        }
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
    /// The audits that vet a node.
    public let vettingAudits: Int
    /// The most of a choice that goes to new nodes.
    public let newNodeFraction: Double
    private let db: any OverlayDB
    private let state = Mutex(State())

    public init(
        staleness: Duration, onlineWindow: Duration, distinctNetworks: Bool = true, vettingAudits: Int = 0, newNodeFraction: Double = 0, db: any OverlayDB
    ) {
        self.staleness = staleness
        self.onlineWindow = onlineWindow
        self.distinctNetworks = distinctNetworks
        self.vettingAudits = vettingAudits
        self.newNodeFraction = newNodeFraction
        self.db = db
    }

    /// A cache as `config` sets it.
    public convenience init(config: OverlayConfig, db: any OverlayDB) {
        self.init(
            staleness: config.selectionCacheStaleness, onlineWindow: config.onlineWindow, distinctNetworks: config.distinctNetworks,
            vettingAudits: config.vettingAudits, newNodeFraction: config.newNodeFraction, db: db
        )
    }

    /// Up to `count` nodes in random order, at most one per network and none of `excluded` nor on
    /// `excludedNetworks`, each online within the window at `now` and with `minFreeDisk` bytes free.
    /// - Throws: the database's error when the snapshot had to be read and could not be.
    public func select(
        count: Int, minFreeDisk: Int64, excluded: Set<Data> = [], excludedNetworks: Set<String> = [], now: Date = Date()
    ) async throws -> [NodeChoice] {
        var pools = Pools(try await current())
        return choose(count: count, from: &pools, minFreeDisk: minFreeDisk, excluded: excluded, excludedNetworks: excludedNetworks, now: now)
    }

    /// A choice as ``select(count:minFreeDisk:excluded:excludedNetworks:now:)`` makes for each of
    /// `segments` segments, each drawn anew, all from one snapshot: an upload of many segments
    /// reads the table at most once, whatever the staleness.
    /// - Throws: the database's error when the snapshot had to be read and could not be.
    public func select(segments: Int, count: Int, minFreeDisk: Int64, now: Date = Date()) async throws -> [[NodeChoice]] {
        guard segments > 0 else { return [] }
        var pools = Pools(try await current())
        var choices: [[NodeChoice]] = []
        choices.reserveCapacity(segments)
        for _ in 0..<segments {
            choices.append(choose(count: count, from: &pools, minFreeDisk: minFreeDisk, excluded: [], excludedNetworks: [], now: now))
        }
        return choices
    }

    /// New nodes first, up to their share of `count`, then vetted ones for the rest, in random
    /// order. A shortage of new nodes is made up with vetted ones; a shortage of vetted ones is not.
    private func choose(
        count: Int, from pools: inout Pools, minFreeDisk: Int64, excluded: Set<Data>, excludedNetworks: Set<String>, now: Date
    ) -> [NodeChoice] {
        let newCount = pools.nodes.new.isEmpty ? 0 : Int(Double(count) * newNodeFraction)
        var networks = excludedNetworks
        var chosen = draw(newCount, from: pools.nodes.new, order: &pools.newOrder, into: [], networks: &networks, minFreeDisk: minFreeDisk, excluded: excluded, now: now)
        chosen = draw(count, from: pools.nodes.vetted, order: &pools.vettedOrder, into: chosen, networks: &networks, minFreeDisk: minFreeDisk, excluded: excluded, now: now)
        if newCount > 0 { chosen.shuffle() }
        return chosen
    }

    /// Adds to `chosen`, until it holds `count`, from `nodes` in the order a partial Fisher-Yates
    /// shuffle of `order` gives. `order` is any permutation of the indices and is left one, so one
    /// array serves every segment of an upload, and a choice costs the nodes it looks at, not the
    /// size of the overlay.
    private func draw(
        _ count: Int, from nodes: [EligibleNode], order: inout [Int], into chosen: [NodeChoice], networks: inout Set<String>, minFreeDisk: Int64,
        excluded: Set<Data>, now: Date
    ) -> [NodeChoice] {
        let onlineSince = now - onlineWindow.timeInterval
        var chosen = chosen
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
    private func current() async throws -> Nodes {
        guard staleness > .zero else { return Nodes(try await db.eligibleNodes(onlineSince: Date() - onlineWindow.timeInterval), vettingAudits: vettingAudits) }
        let now = ContinuousClock.now
        let (fresh, stale) = state.withLock { state -> (Nodes?, Nodes?) in
            if let snapshot = state.snapshot, now - snapshot.takenAt < staleness { return (snapshot.nodes, nil) }
            if state.refreshing, let snapshot = state.snapshot { return (snapshot.nodes, nil) }
            state.refreshing = true
            return (nil, state.snapshot?.nodes)
        }
        if let fresh { return fresh }
        do {
            let nodes = Nodes(try await db.eligibleNodes(onlineSince: Date() - onlineWindow.timeInterval), vettingAudits: vettingAudits)
            state.withLock { $0 = State(snapshot: Snapshot(nodes: nodes, takenAt: now), refreshing: false) }
            return nodes
        } catch {
            state.withLock { $0.refreshing = false }
            if let stale { return stale }
            throw error
        }
    }
}
