import Foundation

/// A set of piece ids that answers "certainly not in it" or "probably in it" (Storj's garbage
/// collection filter, storj/common bloomfilter): the satellite puts in every piece id a node should
/// hold, and the node trashes what is certainly not in it. Piece ids are uniformly random, so their
/// own bytes serve as the hash functions: function `i` reads 8 bytes at offset `seed + i`.
public struct BloomFilter: Sendable, Equatable {
    /// Format of ``encoded``.
    static let version: UInt8 = 1
    public let hashCount: Int
    /// Where in a piece id the first hash's bytes start.
    public let seed: Int
    private(set) var bits: [UInt8]

    /// A filter sized for `expected` ids with at most `falsePositiveRate` of absent ids answered
    /// "probably in it".
    public init(expected: Int, falsePositiveRate: Double, seed: Int = Int.random(in: 0..<8)) {
        let n = Double(max(expected, 1))
        // At least 1024 bits: a node with few pieces gets a filter of 128 bytes whose false
        // positives are negligible, instead of a few bytes that keep much of its garbage.
        let bitCount = max(1024, Int((-n * log(falsePositiveRate) / (log(2) * log(2))).rounded(.up)))
        hashCount = min(16, max(1, Int((Double(bitCount) / n * log(2)).rounded())))
        self.seed = seed
        bits = [UInt8](repeating: 0, count: (bitCount + 7) / 8)
    }

    public mutating func insert(_ piece: PieceID) {
        for index in indexes(piece) { bits[index >> 3] |= 1 << UInt8(index & 7) }
    }

    /// False only for an id that was never inserted.
    public func mayContain(_ piece: PieceID) -> Bool {
        indexes(piece).allSatisfy { bits[$0 >> 3] & (1 << UInt8($0 & 7)) != 0 }
    }

    private func indexes(_ piece: PieceID) -> [Int] {
        let bitCount = UInt64(bits.count * 8)
        return piece.bytes.withUnsafeBytes { raw in
            (0..<hashCount).map { function in
                let offset = (seed + function) % (raw.count - 7)
                var value: UInt64 = 0
                for byte in 0..<8 { value = value << 8 | UInt64(raw[offset + byte]) }
                return Int(value % bitCount)
            }
        }
    }

    /// The version, the hash count, the seed, then the bits.
    public var encoded: Data {
        Data([Self.version, UInt8(hashCount), UInt8(seed)]) + Data(bits)
    }

    /// Nil when `data` is not an encoded filter.
    public init?(decoding data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count > 3, bytes[0] == Self.version, (1...16).contains(bytes[1]), bytes[2] < 24 else { return nil }
        hashCount = Int(bytes[1])
        seed = Int(bytes[2])
        bits = Array(bytes.dropFirst(3))
    }
}
