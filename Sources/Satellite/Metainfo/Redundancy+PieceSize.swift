import ErasureCoding
import SatelliteDB

extension Redundancy {
    /// The bytes of each piece of a segment of `segmentSize` bytes, padded to whole stripes of
    /// `k` shares (Storj's padding): what a node's signed hash must say, and a limit allows.
    func pieceSize(ofSegment segmentSize: Int64) -> Int64 {
        Int64(Padding.paddedSize(of: Int(segmentSize), stripeSize: k * shareSize) / k)
    }
}
