import SatelliteDB
import SatelliteSettings

extension MetainfoConfig {
    /// The parsed redundancy with the share size; the loader has checked it.
    public var scheme: Redundancy {
        let counts = redundancyCounts
        return Redundancy(k: counts.k, repair: counts.repair, optimal: counts.optimal, total: counts.total, shareSize: Int(shareSize))
    }

    /// The largest piece of a segment of ``maxSegmentSize``, padded to whole stripes: the byte
    /// limit of an upload's orders and the free disk a node needs.
    public var maxPieceSize: Int64 {
        scheme.pieceSize(ofSegment: maxSegmentSize)
    }
}
