/// The rebuilding of stripes from one set of shares, made once and used for every stripe, as a
/// download reads the same pieces for a whole segment: which k of the shares to read, and the rows
/// of the inverted matrix that give the data shares not among them (cached by the code per set).
public struct Rebuilder: Sendable {
    /// The shares' numbers, in the order the calls take the shares.
    public let shareNumbers: [Int]
    /// The data shares not among the k used, ascending: what ``rebuildMissing(_:into:)`` writes.
    public let missing: [Int]
    private let required: Int
    /// Data shares among those used: their index in `shareNumbers`, and their number.
    private let copies: [(index: Int, number: Int)]
    /// The indices in `shareNumbers` of the k shares `rows` reads, in the rows' order.
    private let inputs: [Int]
    private let rows: CodingRows?

    /// `numbers` must be valid and distinct, at least k of them.
    init(code: ErasureCode, numbers: [Int]) {
        let required = code.required
        let chosen = numbers.indices.sorted { numbers[$0] < numbers[$1] }.prefix(required)
        let chosenNumbers = chosen.map { numbers[$0] }
        var present = [Bool](repeating: false, count: required)
        for number in chosenNumbers where number < required { present[number] = true }
        let missing = (0..<required).filter { !present[$0] }
        rows = missing.isEmpty ? nil : code.inversions.rows(for: ShareSet(chosenNumbers)) {
            // The chosen rows of the encoding matrix map the data to the chosen shares; any k
            // rows of it are invertible, and the inverse maps the shares back to the data.
            let inverse = code.encoding.selecting(rows: chosenNumbers).inverted()!
            return CodingRows(inverse.selecting(rows: missing), kernel: code.kernel)
        }
        self.required = required
        self.shareNumbers = numbers
        self.missing = missing
        copies = chosen.filter { numbers[$0] < required }.map { (index: $0, number: numbers[$0]) }
        inputs = Array(chosen)
    }

    /// Rebuilds one stripe's data (the k data shares one after another) from `shares`, which
    /// must be numbered as ``shareNumbers``, in that order.
    /// - Throws: ``ErasureCodingError`` for shares that do not match, or a wrong stripe length.
    public func rebuild(_ shares: [ShareView], into stripe: UnsafeMutableRawBufferPointer) throws(ErasureCodingError) {
        let shareSize = try check(shares)
        guard stripe.count == required * shareSize else {
            throw .stripeLength(length: stripe.count, expected: "\(required) data shares of \(shareSize) bytes, \(required * shareSize)")
        }
        guard shareSize > 0 else { return }
        rebuild(shareSize: shareSize, into: stripe.baseAddress!) { shares[$0].bytes.baseAddress! }
    }

    /// Computes only the data shares the shares lack (``missing``), each into its own buffer, as
    /// ISA-L's decoding does: what a lost shard needs, without copying the shares that are there.
    /// - Throws: ``ErasureCodingError`` for shares that do not match, or outputs of a wrong count or length.
    public func rebuildMissing(_ shares: [ShareView], into outputs: [UnsafeMutableRawBufferPointer]) throws(ErasureCodingError) {
        let shareSize = try check(shares)
        guard outputs.count == missing.count else {
            throw .stripeLength(length: outputs.count, expected: "\(missing.count) buffers, one per missing data share")
        }
        for (index, output) in outputs.enumerated() where output.count != shareSize {
            throw .shareLength(number: missing[index], length: output.count, expected: shareSize)
        }
        guard let rows, shareSize > 0 else { return }
        withPointers(inputs.count, { UnsafeMutableRawPointer(mutating: shares[inputs[$0]].bytes.baseAddress!) }) { inputPointers in
            withPointers(outputs.count, { outputs[$0].baseAddress! }) { outputPointers in
                rows.apply(inputs: inputPointers, outputs: outputPointers, length: shareSize)
            }
        }
    }

    /// Writes one stripe's k data shares to `stripe`; `share(i)` is the bytes of share `shareNumbers[i]`.
    func rebuild(shareSize: Int, into stripe: UnsafeMutableRawPointer, share: (Int) -> UnsafeRawPointer) {
        for copy in copies {
            (stripe + copy.number * shareSize).copyMemory(from: share(copy.index), byteCount: shareSize)
        }
        guard let rows else { return }
        withPointers(inputs.count, { UnsafeMutableRawPointer(mutating: share(inputs[$0])) }) { inputPointers in
            withPointers(missing.count, { stripe + missing[$0] * shareSize }) { outputs in
                rows.apply(inputs: inputPointers, outputs: outputs, length: shareSize)
            }
        }
    }

    /// Checks the shares against ``shareNumbers`` and returns their common length.
    private func check(_ shares: [ShareView]) throws(ErasureCodingError) -> Int {
        guard shares.count == shareNumbers.count, zip(shares, shareNumbers).allSatisfy({ $0.number == $1 }) else {
            throw .unexpectedShares(given: shares.map(\.number), expected: shareNumbers)
        }
        let length = shares[0].bytes.count
        for share in shares where share.bytes.count != length {
            throw .shareLength(number: share.number, length: share.bytes.count, expected: length)
        }
        return length
    }
}
