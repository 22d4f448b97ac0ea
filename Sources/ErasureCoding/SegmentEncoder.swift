/// What one call of ``SegmentEncoder`` made: the next run of each of the `total` pieces, all of one
/// length, piece `i` at `i × length` in one buffer.
public struct PieceRuns: Sendable, Equatable {
    public let total: Int
    /// The bytes each piece got: a whole number of shares.
    public let length: Int
    public let bytes: [UInt8]

    /// Piece `number`'s run.
    public subscript(number: Int) -> ArraySlice<UInt8> {
        bytes[number * length..<(number + 1) * length]
    }
}

/// Cuts a segment into pieces as its bytes arrive: pads it as Storj does (``Padding``), splits it
/// into stripes of k shares and encodes each. It holds back less than one stripe, so a 64 MiB
/// segment never needs a second 64 MiB buffer.
public struct SegmentEncoder: Sendable {
    private enum State: Sendable {
        /// Bytes of a stripe not yet complete, and how much data came so far.
        case open(partial: [UInt8], size: Int)
        case finished
    }

    public let code: ErasureCode
    public let shareSize: Int
    private var state: State = .open(partial: [], size: 0)

    /// - Precondition: `shareSize` > 0.
    public init(code: ErasureCode, shareSize: Int) {
        precondition(shareSize > 0, "a share size must be positive")
        self.code = code
        self.shareSize = shareSize
    }

    public var stripeSize: Int { code.required * shareSize }

    /// Encodes every stripe that `bytes` completes.
    /// - Precondition: ``finish()`` has not been called.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) -> PieceRuns {
        guard case .open(var partial, let size) = state else { preconditionFailure("SegmentEncoder.append after finish") }
        var input = bytes[...]
        var stripes: [UnsafeRawBufferPointer] = []
        var joined: [UInt8] = []
        if !partial.isEmpty {
            let taken = min(stripeSize - partial.count, input.count)
            partial += UnsafeRawBufferPointer(rebasing: input.prefix(taken))
            input = input.dropFirst(taken)
            if partial.count == stripeSize {
                joined = partial
                partial = []
            }
        }
        let whole = input.count / stripeSize
        let runs = joined.withUnsafeBytes { joinedBytes in
            if !joinedBytes.isEmpty { stripes.append(joinedBytes) }
            for index in 0..<whole {
                stripes.append(UnsafeRawBufferPointer(rebasing: input[(input.startIndex + index * stripeSize)...].prefix(stripeSize)))
            }
            return encode(stripes)
        }
        partial += UnsafeRawBufferPointer(rebasing: input.dropFirst(whole * stripeSize))
        state = .open(partial: partial, size: size + bytes.count)
        return runs
    }

    /// Encodes every stripe that `bytes` completes.
    public mutating func append(_ bytes: [UInt8]) -> PieceRuns {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Pads what is left (with at least the 4 bytes of the pad length) and encodes it.
    /// - Precondition: not called before.
    public mutating func finish() -> PieceRuns {
        guard case .open(let partial, let size) = state else { preconditionFailure("SegmentEncoder.finish called twice") }
        let last = partial + Padding.pad(for: size, stripeSize: stripeSize)
        state = .open(partial: [], size: 0)
        let runs = append(last)
        state = .finished
        return runs
    }

    /// Encodes whole stripes into one buffer, piece-major.
    private func encode(_ stripes: [UnsafeRawBufferPointer]) -> PieceRuns {
        let length = stripes.count * shareSize
        let required = code.required
        var output = [UInt8](repeating: 0, count: code.total * length)
        output.withUnsafeMutableBytes { out in
            for (index, stripe) in stripes.enumerated() {
                for number in 0..<required {
                    (out.baseAddress! + number * length + index * shareSize).copyMemory(from: stripe.baseAddress! + number * shareSize, byteCount: shareSize)
                }
                code.encodeParity(stripe: stripe.baseAddress!, shareSize: shareSize) { parity in
                    out.baseAddress! + (required + parity) * length + index * shareSize
                }
            }
        }
        return PieceRuns(total: code.total, length: length, bytes: output)
    }
}
