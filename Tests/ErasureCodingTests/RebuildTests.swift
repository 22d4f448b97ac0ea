@testable import ErasureCoding
import SeededRandom
import Testing

@Suite("Rebuilding a stripe from any k of its n shares")
struct RebuildTests {
    @Test("1,000 random subsets of k shares rebuild the stripe", arguments: [(29, 110), (4, 10)])
    func anySubset(shape: (required: Int, total: Int)) async throws {
        try await onOwnThread { try Self.anySubset(required: shape.required, total: shape.total) }
    }

    private static func anySubset(required: Int, total: Int) throws {
        let shape = (required: required, total: total)
        var random = SeededGenerator(seed: UInt64(shape.total))
        let code = try ErasureCode(required: shape.required, total: shape.total)
        let reference = try ErasureCode(required: shape.required, total: shape.total, kernel: .plain)
        let stripe = random.bytes(shape.required * 64)
        let shares = try code.encode(stripe: stripe)
        for trial in 0..<1000 {
            let subset = Array(shares.shuffled(using: &random).prefix(shape.required))
            #expect(try code.rebuild(subset) == stripe, "subset \(subset.map(\.number).sorted()) (trial \(trial))")
            if trial % 50 == 0 { #expect(try reference.rebuild(subset) == stripe) }
        }
    }

    @Test("more than k shares: the rest are not needed, and any order will do")
    func moreThanRequired() throws {
        let code = try ErasureCode(required: 4, total: 10)
        var random = SeededGenerator(seed: 7)
        let stripe = random.bytes(4 * 100)
        let shares = try code.encode(stripe: stripe)
        #expect(try code.rebuild(shares.reversed()) == stripe)
        #expect(try code.rebuild(Array(shares[3...]).shuffled(using: &random)) == stripe)
    }

    @Test("zero-length shares rebuild an empty stripe")
    func empty() throws {
        let code = try ErasureCode(required: 4, total: 10)
        let shares = try code.encode(stripe: [])
        #expect(shares.count == 10 && shares.allSatisfy(\.bytes.isEmpty))
        #expect(try code.rebuild(Array(shares[6...])) == [])
    }

    @Test("the inversion is made once per set of shares, not once per stripe")
    func inversionCached() throws {
        let code = try ErasureCode(required: 4, total: 10)
        var random = SeededGenerator(seed: 11)
        for _ in 0..<20 {
            let stripe = random.bytes(4 * 32)
            #expect(try code.rebuild(Array(try code.encode(stripe: stripe)[5...8])) == stripe)
        }
        #expect(code.inversions.count == 1)
        // Data shares only: nothing to invert.
        _ = try code.rebuild(Array(try code.encode(stripe: random.bytes(8))[0..<4]))
        #expect(code.inversions.count == 1)
        _ = try code.rebuild(Array(try code.encode(stripe: random.bytes(8))[1..<5]))
        #expect(code.inversions.count == 2)
    }

    @Test("a rebuilder computes just the lost data shares, and refuses shares it was not made for")
    func rebuilder() throws {
        let code = try ErasureCode(required: 10, total: 14)
        var random = SeededGenerator(seed: 12)
        let stripe = random.bytes(10 * 64)
        let shares = try code.encode(stripe: stripe)
        let given = [13, 4, 5, 6, 7, 8, 9, 10, 11, 12, 2]
        let rebuilder = try code.rebuilder(for: given)
        #expect(rebuilder.missing == [0, 1, 3])
        let buffers = given.map { number in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
            buffer.copyBytes(from: shares[number].bytes)
            return buffer
        }
        let lost = (0..<3).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16) }
        defer { for buffer in buffers + lost { buffer.deallocate() } }
        let views = zip(given, buffers).map { ShareView(number: $0, bytes: UnsafeRawBufferPointer($1)) }
        try rebuilder.rebuildMissing(views, into: lost)
        #expect(lost.map { Array($0) } == [shares[0].bytes, shares[1].bytes, shares[3].bytes])
        #expect(throws: ErasureCodingError.unexpectedShares(given: Array(given.reversed()), expected: given)) {
            try rebuilder.rebuildMissing(views.reversed(), into: lost)
        }
        #expect(throws: ErasureCodingError.self) { try rebuilder.rebuildMissing(views, into: Array(lost.prefix(2))) }
        #expect(throws: ErasureCodingError.tooFewShares(have: 9, need: 10)) { try code.rebuilder(for: Array(given.prefix(9))) }
    }
}
