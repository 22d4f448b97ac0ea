import ErasureCoding
import Testing

@Suite("Rebuilding a stripe from any k of its n shares")
struct RebuildTests {
    @Test("1,000 random subsets of k shares rebuild the stripe", arguments: [(29, 110), (4, 10)])
    func anySubset(shape: (required: Int, total: Int)) throws {
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
}
