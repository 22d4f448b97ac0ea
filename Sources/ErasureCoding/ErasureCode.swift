/// Storj's Reed–Solomon code (storj/infectious): `required` (k) of `total` (n) shares rebuild a
/// stripe, over GF(2^8) with the polynomial 0x11D.
///
/// The code is systematic: shares 0 ..< k are the stripe's data, cut into k equal parts, and share
/// i is the value at the point 2^i (0 for share 0) of the polynomial of degree < k through the data
/// shares. Its encoding matrix is the Vandermonde matrix of those points times the inverse of its
/// top k rows, so that any k rows are invertible. A value of this type is immutable but for its
/// cache of inverted matrices, and safe to share between threads.
public final class ErasureCode: Sendable {
    /// k: the shares any stripe can be rebuilt from.
    public let required: Int
    /// n: the shares made of each stripe.
    public let total: Int
    public let kernel: Kernel
    /// n × k; the top k rows are the identity.
    let encoding: GaloisMatrix
    /// Rows k ..< n of `encoding`, ready for the kernel.
    private let parity: CodingRows
    let inversions: InversionCache

    /// - Throws: ``ErasureCodingError/parameters(required:total:)`` unless 1 ≤ required ≤ total ≤ 256.
    public init(required: Int, total: Int, kernel: Kernel = .isal) throws(ErasureCodingError) {
        guard 1 <= required, required <= total, total <= 256 else { throw .parameters(required: required, total: total) }
        self.required = required
        self.total = total
        self.kernel = kernel
        encoding = Self.encodingMatrix(required: required, total: total)
        parity = CodingRows(encoding.selecting(rows: required..<total), kernel: kernel)
        inversions = InversionCache()
    }

    /// The Vandermonde matrix of the shares' points times the inverse of its top k rows. Row r of
    /// it holds the Lagrange basis polynomials of the data points evaluated at share r's point,
    /// Lᵢ(pᵣ) = Πₘ≠ᵢ (pᵣ − pₘ)/(pᵢ − pₘ), which is how it is computed here: in O(n·k) instead of
    /// a k × k inversion and an n × k × k product.
    static func encodingMatrix(required: Int, total: Int) -> GaloisMatrix {
        let points = (0..<total).map(GaloisField.point(ofShare:))
        // Πₘ≠ᵢ (pᵢ − pₘ) over the data points, inverted; subtraction is XOR.
        let denominators = (0..<required).map { i in
            GaloisField.inverse((0..<required).reduce(UInt8(1)) { product, m in m == i ? product : GaloisField.multiply(product, points[i] ^ points[m]) })
        }
        var matrix = GaloisMatrix(rows: total, columns: required, elements: GaloisMatrix.identity(required).elements + [UInt8](repeating: 0, count: (total - required) * required))
        for row in required..<total {
            // The points are distinct, so pᵣ − pₘ is never 0.
            let all = (0..<required).reduce(UInt8(1)) { GaloisField.multiply($0, points[row] ^ points[$1]) }
            for i in 0..<required {
                matrix[row, i] = GaloisField.multiply(GaloisField.multiply(all, GaloisField.inverse(points[row] ^ points[i])), denominators[i])
            }
        }
        return matrix
    }

    // MARK: Encoding

    /// Computes one stripe's parity shares (k ..< n) from its data.
    /// - Parameters:
    ///   - stripe: the k data shares one after another; its length is k × the share size.
    ///   - parity: receives the n − k parity shares one after another.
    /// - Throws: ``ErasureCodingError/stripeLength(length:expected:)`` when the lengths do not fit.
    public func encodeParity(stripe: UnsafeRawBufferPointer, into parity: UnsafeMutableRawBufferPointer) throws(ErasureCodingError) {
        guard stripe.count % required == 0 else {
            throw .stripeLength(length: stripe.count, expected: "a multiple of \(required) (the data shares)")
        }
        let shareSize = stripe.count / required
        guard parity.count == (total - required) * shareSize else {
            throw .stripeLength(length: parity.count, expected: "\(total - required) parity shares of \(shareSize) bytes, \((total - required) * shareSize)")
        }
        guard shareSize > 0 else { return }
        encodeParity(stripe: stripe.baseAddress!, shareSize: shareSize) { parity.baseAddress! + $0 * shareSize }
    }

    /// Computes one stripe's parity, parity share `k + i` at `parity(i)`; sizes already checked.
    func encodeParity(stripe: UnsafeRawPointer, shareSize: Int, parity output: (Int) -> UnsafeMutableRawPointer) {
        withPointers(required, { UnsafeMutableRawPointer(mutating: stripe + $0 * shareSize) }) { inputs in
            withPointers(total - required, output) { outputs in
                parity.apply(inputs: inputs, outputs: outputs, length: shareSize)
            }
        }
    }

    /// Computes the parity shares from data shares held in separate buffers (shards), all of one length.
    /// - Throws: ``ErasureCodingError`` when the counts or lengths do not fit.
    public func encodeParity(shares: [UnsafeRawBufferPointer], into parity: [UnsafeMutableRawBufferPointer]) throws(ErasureCodingError) {
        guard shares.count == required else { throw .tooFewShares(have: shares.count, need: required) }
        guard parity.count == total - required else {
            throw .stripeLength(length: parity.count, expected: "\(total - required) parity buffers")
        }
        let length = shares.first?.count ?? 0
        for (number, share) in shares.enumerated() where share.count != length {
            throw .shareLength(number: number, length: share.count, expected: length)
        }
        for (index, buffer) in parity.enumerated() where buffer.count != length {
            throw .shareLength(number: required + index, length: buffer.count, expected: length)
        }
        guard length > 0 else { return }
        withPointers(required, { UnsafeMutableRawPointer(mutating: shares[$0].baseAddress!) }) { inputs in
            withPointers(total - required, { parity[$0].baseAddress! }) { outputs in
                self.parity.apply(inputs: inputs, outputs: outputs, length: length)
            }
        }
    }

    /// Every share of one stripe: the k data shares (the stripe cut in k) and the n − k parity shares.
    /// - Throws: ``ErasureCodingError/stripeLength(length:expected:)`` unless the stripe's length is a multiple of k.
    public func encode(stripe: [UInt8]) throws(ErasureCodingError) -> [Share] {
        guard stripe.count % required == 0 else {
            throw .stripeLength(length: stripe.count, expected: "a multiple of \(required) (the data shares)")
        }
        let shareSize = stripe.count / required
        var parityBytes = [UInt8](repeating: 0, count: (total - required) * shareSize)
        if shareSize > 0 {
            stripe.withUnsafeBytes { data in
                parityBytes.withUnsafeMutableBytes { parity in
                    encodeParity(stripe: data.baseAddress!, shareSize: shareSize) { parity.baseAddress! + $0 * shareSize }
                }
            }
        }
        return (0..<total).map { number in
            number < required
                ? Share(number: number, bytes: Array(stripe[number * shareSize..<(number + 1) * shareSize]))
                : Share(number: number, bytes: Array(parityBytes[(number - required) * shareSize..<(number - required + 1) * shareSize]))
        }
    }

    // MARK: Rebuilding

    /// Rebuilds a stripe's data (the k data shares one after another) from any k of its shares.
    /// Data shares among them are copied; the rest come from the inverted matrix of the shares
    /// used, which is cached per set. When more than k are given, the data shares and then the
    /// lowest-numbered parity shares are used, and the others are not looked at (see
    /// ``correct(_:)`` to check them).
    /// - Throws: ``ErasureCodingError`` for fewer than k shares, a number out of range or given
    ///   twice, shares of unequal lengths, or a `stripe` buffer that is not k shares long.
    public func rebuild(_ shares: [ShareView], into stripe: UnsafeMutableRawBufferPointer) throws(ErasureCodingError) {
        let shareSize = try validate(shares.map { ($0.number, $0.bytes.count) })
        guard stripe.count == required * shareSize else {
            throw .stripeLength(length: stripe.count, expected: "\(required) data shares of \(shareSize) bytes, \(required * shareSize)")
        }
        guard shareSize > 0 else { return }
        Rebuilder(code: self, numbers: shares.map(\.number)).rebuild(shareSize: shareSize, into: stripe.baseAddress!) { shares[$0].bytes.baseAddress! }
    }

    /// Makes the rebuilding of stripes from shares numbered `shareNumbers`, in that order, once:
    /// which k of them to read and the inverted matrix (see ``Rebuilder``).
    /// - Throws: ``ErasureCodingError`` for fewer than k numbers, a number out of range or twice.
    public func rebuilder(for shareNumbers: [Int]) throws(ErasureCodingError) -> Rebuilder {
        _ = try validate(shareNumbers.map { ($0, 0) })
        return Rebuilder(code: self, numbers: shareNumbers)
    }

    /// Rebuilds a stripe's data from any k of its shares; see ``rebuild(_:into:)``.
    public func rebuild(_ shares: [Share]) throws(ErasureCodingError) -> [UInt8] {
        let shareSize = try validate(shares.map { ($0.number, $0.bytes.count) })
        var stripe = [UInt8](repeating: 0, count: required * shareSize)
        try withViews(shares) { (views) throws(ErasureCodingError) in
            try stripe.withMutableBytes { (buffer) throws(ErasureCodingError) in try rebuild(views, into: buffer) }
        }
        return stripe
    }

    /// Rebuilds the data of consecutive stripes, any stretch of a segment, from runs of at least k
    /// pieces over those stripes (each run the same whole number of `shareSize` shares): what a
    /// ranged read decodes. No padding is taken off; the caller knows where the data ends.
    /// - Throws: ``ErasureCodingError`` for too few runs, a number out of range or twice, runs of
    ///   unequal lengths or not whole shares.
    public func rebuildStripes(_ runs: [Share], shareSize: Int) throws(ErasureCodingError) -> [UInt8] {
        let length = try validate(runs.map { ($0.number, $0.bytes.count) })
        guard shareSize > 0, length % shareSize == 0 else {
            throw .shareLength(number: runs[0].number, length: length, expected: (length / max(shareSize, 1) + 1) * shareSize)
        }
        let stripes = length / shareSize
        guard stripes > 0 else { return [] }
        let plan = Rebuilder(code: self, numbers: runs.map(\.number))
        let stripeSize = required * shareSize
        // Every byte is written by the rebuild: no zeroing pass over what may be 64 MiB.
        return try withViews(runs) { views in
            [UInt8](unsafeUninitializedCapacity: stripes * stripeSize) { out, initialized in
                for stripe in 0..<stripes {
                    plan.rebuild(shareSize: shareSize, into: UnsafeMutableRawPointer(out.baseAddress!) + stripe * stripeSize) {
                        views[$0].bytes.baseAddress! + stripe * shareSize
                    }
                }
                initialized = stripes * stripeSize
            }
        }
    }

    /// Checks numbers and lengths and returns the common share length.
    func validate(_ shares: [(number: Int, length: Int)]) throws(ErasureCodingError) -> Int {
        guard shares.count >= required else { throw .tooFewShares(have: shares.count, need: required) }
        var seen = [Bool](repeating: false, count: total)
        let length = shares[0].length
        for share in shares {
            guard (0..<total).contains(share.number) else { throw .shareNumber(share.number, total: total) }
            guard !seen[share.number] else { throw .duplicateShare(share.number) }
            seen[share.number] = true
            guard share.length == length else { throw .shareLength(number: share.number, length: share.length, expected: length) }
        }
        return length
    }
}

/// Runs `body` with a temporary array of `count` pointers, the kernels' argument form.
func withPointers<Result>(
    _ count: Int,
    _ pointer: (Int) -> UnsafeMutableRawPointer,
    _ body: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>) throws -> Result
) rethrows -> Result {
    try withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<UInt8>?.self, capacity: max(count, 1)) { pointers in
        for index in 0..<count { pointers[index] = pointer(index).assumingMemoryBound(to: UInt8.self) }
        return try body(pointers.baseAddress!)
    }
}

/// Runs `body` with views of `shares`' bytes.
func withViews<Result>(_ shares: [Share], _ body: ([ShareView]) throws(ErasureCodingError) -> Result) throws(ErasureCodingError) -> Result {
    var views: [ShareView] = []
    views.reserveCapacity(shares.count)
    func nest(_ index: Int) throws(ErasureCodingError) -> Result {
        guard index < shares.count else { return try body(views) }
        let outcome = shares[index].bytes.withUnsafeBytes { bytes -> Swift.Result<Result, ErasureCodingError> in
            views.append(ShareView(number: shares[index].number, bytes: bytes))
            do throws(ErasureCodingError) { return .success(try nest(index + 1)) } catch { return .failure(error) }
        }
        return try outcome.get()
    }
    return try nest(0)
}

extension Array where Element == UInt8 {
    /// `withUnsafeMutableBytes` for a body that throws ``ErasureCodingError``, which the
    /// standard library's untyped `rethrows` would widen to `any Error`.
    mutating func withMutableBytes<Result>(_ body: (UnsafeMutableRawBufferPointer) throws(ErasureCodingError) -> Result) throws(ErasureCodingError) -> Result {
        let outcome = withUnsafeMutableBytes { (buffer: UnsafeMutableRawBufferPointer) -> Swift.Result<Result, ErasureCodingError> in
            do throws(ErasureCodingError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }
        return try outcome.get()
    }
}
