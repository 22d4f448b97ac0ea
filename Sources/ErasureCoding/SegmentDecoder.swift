/// Puts a segment back together stripe by stripe as its pieces' shares arrive, from any k pieces,
/// and takes its padding off at the end. It holds back one stripe and 3 bytes (the most the pad
/// can cover), so a download never needs the whole segment in memory.
public struct SegmentDecoder: Sendable {
    private enum State: Sendable {
        /// Stripes decoded so far; decoded bytes not yet handed out, as they may be padding.
        case decoding(stripes: Int, held: [UInt8])
        case finished
    }

    public let code: ErasureCode
    public let shareSize: Int
    /// The stripes of the segment: its piece size over the share size.
    public let stripeCount: Int
    private var state: State = .decoding(stripes: 0, held: [])

    /// - Throws: ``ErasureCodingError/stripeLength(length:expected:)`` unless `pieceSize` is a
    ///   positive multiple of `shareSize`.
    public init(code: ErasureCode, shareSize: Int, pieceSize: Int) throws(ErasureCodingError) {
        guard shareSize > 0, pieceSize > 0, pieceSize % shareSize == 0 else {
            throw .stripeLength(length: pieceSize, expected: "a piece size that is a positive multiple of the share size \(shareSize)")
        }
        self.code = code
        self.shareSize = shareSize
        stripeCount = pieceSize / shareSize
    }

    public var stripeSize: Int { code.required * shareSize }

    /// Decodes the next stripes from `runs`, the next bytes of at least k pieces (all of one
    /// length, a whole number of shares); returns the segment's bytes that are now known to be data.
    /// - Throws: ``ErasureCodingError`` for bad runs (too few, unequal, not whole shares, past the
    ///   piece's end) or, on the last stripe, a pad that cannot be right; nothing is decoded then.
    public mutating func decode(_ runs: [ShareView]) throws(ErasureCodingError) -> [UInt8] {
        guard case .decoding(let decoded, var held) = state else { preconditionFailure("SegmentDecoder.decode after the last stripe") }
        let length = try code.validate(runs.map { ($0.number, $0.bytes.count) })
        guard length % shareSize == 0 else {
            throw .shareLength(number: runs[0].number, length: length, expected: (length / shareSize + 1) * shareSize)
        }
        let count = length / shareSize
        guard decoded + count <= stripeCount else {
            throw .stripeLength(length: (decoded + count) * shareSize, expected: "at most the piece size, \(stripeCount * shareSize)")
        }
        let plan = Rebuilder(code: code, numbers: runs.map(\.number))
        let start = held.count
        held += [UInt8](repeating: 0, count: count * stripeSize)
        held.withUnsafeMutableBytes { out in
            for stripe in 0..<count {
                plan.rebuild(shareSize: shareSize, into: out.baseAddress! + start + stripe * stripeSize) {
                    runs[$0].bytes.baseAddress! + stripe * shareSize
                }
            }
        }
        if decoded + count == stripeCount {
            let dataEnd = try Padding.unpaddedSize(paddedSize: stripeCount * stripeSize, trailer: held.suffix(4))
            let alreadyOut = decoded * stripeSize - (start)
            guard dataEnd >= alreadyOut else {
                throw .padding(padLength: stripeCount * stripeSize - dataEnd, paddedSize: stripeCount * stripeSize)
            }
            state = .finished
            return Array(held.prefix(dataEnd - alreadyOut))
        }
        let keep = min(held.count, stripeSize + 3)
        state = .decoding(stripes: decoded + count, held: Array(held.suffix(keep)))
        return Array(held.dropLast(keep))
    }

    /// Decodes the next stripes from `runs`; see ``decode(_:)-(ShareView)``.
    public mutating func decode(_ runs: [Share]) throws(ErasureCodingError) -> [UInt8] {
        try withViews(runs) { (views) throws(ErasureCodingError) in try decode(views) }
    }

    /// Whether every stripe has been decoded and the data handed out.
    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }
}
