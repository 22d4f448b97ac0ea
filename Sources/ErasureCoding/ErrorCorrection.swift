/// A stripe after error correction: its data, and which shares were wrong.
public struct Correction: Sendable, Equatable {
    /// The k data shares one after another.
    public let stripe: [UInt8]
    /// The numbers of the shares that disagreed with the corrected stripe, in ascending order.
    public let wrongShares: [Int]
}

extension ErasureCode {
    /// How many wrong shares among `shares` can be found and corrected: ⌊(shares − k) / 2⌋.
    public func correctableErrors(among shares: Int) -> Int {
        max(0, (shares - required) / 2)
    }

    /// Finds the wrong shares of a stripe and its right data, as an audit needs: which pieces lied.
    ///
    /// At each byte offset of the shares, up to ⌊(r − k)/2⌋ of the r shares given may be wrong;
    /// more is reported, not guessed: the call throws rather than return data that some k of the
    /// shares do not agree on beyond the bound. (As for every decoder, an error pattern that happens
    /// to lie within the bound of another stripe cannot be told apart from it; for random
    /// corruption the chance is about 256^-(r-k-e) at an offset, e the bound.)
    ///
    /// The check comes first: the data rebuilt from k shares, encoded again, must give the others.
    /// Only offsets where it does not go through Berlekamp–Welch; once some shares are known wrong,
    /// the rest of the stripe is checked again without them, so a share corrupted throughout costs
    /// one solution, not one per byte.
    /// - Throws: ``ErasureCodingError/tooManyErrors(offset:shares:correctable:)`` past the bound,
    ///   and the errors of ``rebuild(_:into:)`` for bad input; exactly k shares cannot be checked,
    ///   and come back rebuilt with no wrong share.
    public func correct(_ shares: [Share]) throws(ErasureCodingError) -> Correction {
        let shareSize = try validate(shares.map { ($0.number, $0.bytes.count) })
        let sorted = shares.sorted { $0.number < $1.number }
        let bound = correctableErrors(among: sorted.count)
        var result = [UInt8](repeating: 0, count: required * shareSize)
        var unresolved = Array(0..<shareSize)
        var known = Set<Int>()  // shares found wrong somewhere
        var wrong = Set<Int>()
        var trustKnown = true  // while `known` fits the bound, offsets can be checked without it
        while !unresolved.isEmpty {
            if trustKnown {
                // Rebuild from k shares not known wrong, then see which offsets every other
                // share outside `known` agrees with.
                let trusted = sorted.filter { !known.contains($0.number) }
                let stripe = try rebuild(Array(trusted.prefix(required)))
                let expected = try expectedShares(of: stripe, numbers: sorted.map(\.number))
                var stillOpen: [Int] = []
                for offset in unresolved {
                    var disagreeing: [Int] = []
                    for (index, share) in sorted.enumerated() where share.bytes[offset] != expected[index][offset] {
                        disagreeing.append(share.number)
                    }
                    if disagreeing.allSatisfy(known.contains) {
                        wrong.formUnion(disagreeing)
                        for data in 0..<required { result[data * shareSize + offset] = stripe[data * shareSize + offset] }
                    } else {
                        stillOpen.append(offset)
                    }
                }
                unresolved = stillOpen
                guard let offset = unresolved.first else { break }
                let solved = try solveOffset(offset, of: sorted, bound: bound)
                known.formUnion(solved.wrong)
                wrong.formUnion(solved.wrong)
                for data in 0..<required { result[data * shareSize + offset] = solved.data[data] }
                unresolved.removeFirst()
                trustKnown = known.count <= bound
            } else {
                // Different shares are wrong at different offsets, more of them than the bound:
                // each remaining offset is solved on its own.
                for offset in unresolved {
                    let solved = try solveOffset(offset, of: sorted, bound: bound)
                    wrong.formUnion(solved.wrong)
                    for data in 0..<required { result[data * shareSize + offset] = solved.data[data] }
                }
                unresolved = []
            }
        }
        return Correction(stripe: result, wrongShares: wrong.sorted())
    }

    /// What shares `numbers` of `stripe` are.
    private func expectedShares(of stripe: [UInt8], numbers: [Int]) throws(ErasureCodingError) -> [[UInt8]] {
        let shareSize = stripe.count / required
        let rows = CodingRows(encoding.selecting(rows: numbers), kernel: kernel)
        var outputs = [[UInt8]](repeating: [UInt8](repeating: 0, count: shareSize), count: numbers.count)
        guard shareSize > 0 else { return outputs }
        stripe.withUnsafeBytes { data in
            let buffers = outputs.map { _ in UnsafeMutableRawPointer.allocate(byteCount: shareSize, alignment: 64) }
            defer { for buffer in buffers { buffer.deallocate() } }
            withPointers(required, { UnsafeMutableRawPointer(mutating: data.baseAddress! + $0 * shareSize) }) { inputs in
                withPointers(numbers.count, { buffers[$0] }) { pointers in rows.apply(inputs: inputs, outputs: pointers, length: shareSize) }
            }
            for index in outputs.indices {
                outputs[index] = Array(UnsafeRawBufferPointer(start: buffers[index], count: shareSize))
            }
        }
        return outputs
    }

    /// Berlekamp–Welch at one byte offset: the polynomial f of degree < k that all but at most
    /// `bound` of the shares' bytes lie on, from E·f = Q with E monic of degree `bound` (zero at
    /// the wrong shares' points) and Q of degree < k + `bound`.
    private func solveOffset(_ offset: Int, of shares: [Share], bound: Int) throws(ErasureCodingError) -> (data: [UInt8], wrong: [Int]) {
        let failure = ErasureCodingError.tooManyErrors(offset: offset, shares: shares.count, correctable: bound)
        let points = shares.map { GaloisField.point(ofShare: $0.number) }
        let values = shares.map { $0.bytes[offset] }
        // Unknowns: Q₀ … Q_{k+e−1}, then E₀ … E_{e−1}. Share i gives
        // Σ Qⱼ pⁱʲ + yᵢ Σ Eⱼ pᵢʲ = yᵢ pᵢᵉ (minus is plus in GF(2^8)).
        let qCount = required + bound
        var system = GaloisMatrix(rows: shares.count, columns: qCount + bound + 1)
        for (row, point) in points.enumerated() {
            for power in 0..<qCount { system[row, power] = GaloisField.power(point, power) }
            for power in 0..<bound { system[row, qCount + power] = GaloisField.multiply(values[row], GaloisField.power(point, power)) }
            system[row, qCount + bound] = GaloisField.multiply(values[row], GaloisField.power(point, bound))
        }
        guard let solution = system.solved() else { throw failure }
        let q = Array(solution[0..<qCount])
        let e = Array(solution[qCount...]) + [1]
        guard let f = Polynomial.divide(q, by: e) else { throw failure }
        var wrong: [Int] = []
        for (index, point) in points.enumerated() where Polynomial.evaluate(f, at: point) != values[index] {
            wrong.append(shares[index].number)
        }
        guard wrong.count <= bound else { throw failure }
        let data = (0..<required).map { Polynomial.evaluate(f, at: GaloisField.point(ofShare: $0)) }
        return (data, wrong)
    }
}

/// Polynomials over GF(2^8) as coefficient arrays, lowest power first.
enum Polynomial {
    static func evaluate(_ coefficients: [UInt8], at point: UInt8) -> UInt8 {
        var value: UInt8 = 0
        for coefficient in coefficients.reversed() { value = GaloisField.multiply(value, point) ^ coefficient }
        return value
    }

    /// `dividend` / `divisor` when it divides exactly; nil when there is a remainder.
    static func divide(_ dividend: [UInt8], by divisor: [UInt8]) -> [UInt8]? {
        var remainder = dividend
        while remainder.count > 1, remainder.last == 0 { remainder.removeLast() }
        var divisor = divisor
        while divisor.count > 1, divisor.last == 0 { divisor.removeLast() }
        guard let lead = divisor.last, lead != 0 else { return nil }
        if remainder.count < divisor.count { return remainder.allSatisfy { $0 == 0 } ? [0] : nil }
        var quotient = [UInt8](repeating: 0, count: remainder.count - divisor.count + 1)
        let leadInverse = GaloisField.inverse(lead)
        for shift in stride(from: quotient.count - 1, through: 0, by: -1) {
            let factor = GaloisField.multiply(remainder[shift + divisor.count - 1], leadInverse)
            quotient[shift] = factor
            guard factor != 0 else { continue }
            for (index, coefficient) in divisor.enumerated() { remainder[shift + index] ^= GaloisField.multiply(coefficient, factor) }
        }
        return remainder.allSatisfy({ $0 == 0 }) ? quotient : nil
    }
}

extension GaloisMatrix {
    /// A solution of the linear system whose augmented matrix this is (the last column is the
    /// right-hand side), free unknowns set to 0; nil when the system is inconsistent.
    func solved() -> [UInt8]? {
        var work = self
        let unknowns = columns - 1
        var pivotColumns: [Int] = []
        var row = 0
        for column in 0..<unknowns where row < rows {
            guard let pivot = (row..<rows).first(where: { work[$0, column] != 0 }) else { continue }
            work.swapRows(pivot, row)
            work.scaleRow(row, by: GaloisField.inverse(work[row, column]))
            for other in 0..<rows where other != row && work[other, column] != 0 {
                work.addRow(row, times: work[other, column], to: other)
            }
            pivotColumns.append(column)
            row += 1
        }
        // A row with no unknown left but a nonzero right-hand side: no solution.
        for remaining in row..<rows where work[remaining, unknowns] != 0 { return nil }
        var solution = [UInt8](repeating: 0, count: unknowns)
        for (index, column) in pivotColumns.enumerated() { solution[column] = work[index, unknowns] }
        return solution
    }
}
