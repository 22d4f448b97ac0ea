import Foundation
import SatelliteDB

/// How many pieces of a segment can still be counted on: on a node that is known, online
/// (a successful contact since `onlineSince`), not disqualified, not exiting, and on a network
/// no other counted piece of the segment is on (one operator's machines count once).
public enum SegmentHealth {
    public static func healthyPieces(_ segment: SegmentRecord, standings: [Data: NodeStanding], onlineSince: Date) -> Int {
        var networks: Set<String> = []
        var healthy = 0
        for piece in segment.pieces {
            guard let standing = standings[piece.node], let contact = standing.lastContactSuccess, contact >= onlineSince,
                !standing.disqualified, !standing.exiting, networks.insert(standing.lastNet).inserted
            else { continue }
            healthy += 1
        }
        return healthy
    }

    /// Urgency in the queue: lower is more urgent; below zero the segment cannot be rebuilt.
    public static func score(healthy: Int, redundancy: Redundancy) -> Double {
        Double(healthy - redundancy.k) / Double(max(1, redundancy.optimal - redundancy.k))
    }

    /// Whether a segment with `healthy` pieces belongs in the repair queue.
    public static func needsRepair(healthy: Int, redundancy: Redundancy) -> Bool {
        healthy <= redundancy.repair && healthy < redundancy.optimal
    }
}
