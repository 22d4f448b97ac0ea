import Foundation
import SatelliteDB

/// How many pieces of a segment can still be counted on: on a node that is known, online
/// (a successful contact since `onlineSince`), not disqualified, not exiting, and, when
/// `distinctNetworks` (the overlay's rule), on a network no other counted piece of the segment is
/// on (one operator's machines count once). Off, as on a network on one machine, every node counts.
public enum SegmentHealth {
    public static func healthyPieces(_ segment: SegmentRecord, standings: [Data: NodeStanding], onlineSince: Date, distinctNetworks: Bool = true) -> Int {
        healthy(segment, standings: standings, onlineSince: onlineSince, distinctNetworks: distinctNetworks).count
    }

    /// The pieces ``healthyPieces(_:standings:onlineSince:distinctNetworks:)`` counts, in the segment's order.
    public static func healthy(_ segment: SegmentRecord, standings: [Data: NodeStanding], onlineSince: Date, distinctNetworks: Bool = true) -> [Piece] {
        var networks: Set<String> = []
        return segment.pieces.filter { piece in
            guard let standing = standings[piece.node], let contact = standing.lastContactSuccess, contact >= onlineSince,
                !standing.disqualified, !standing.exiting
            else { return false }
            return !distinctNetworks || networks.insert(standing.lastNet).inserted
        }
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
