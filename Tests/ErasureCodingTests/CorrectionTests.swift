import ErasureCoding
import SeededRandom
import Testing

@Suite("Error correction: which shares lied")
struct CorrectionTests {
    @Test("29/80: every count of wrong shares up to 25 is found exactly and corrected")
    func upToTheBound() async throws {
        try await onOwnThread(Self.upToTheBound)
    }

    private static func upToTheBound() throws {
        let code = try ErasureCode(required: 29, total: 110)
        var random = SeededGenerator(seed: 29)
        let stripe = random.bytes(29 * 32)
        let shares = Array(try code.encode(stripe: stripe).shuffled(using: &random).prefix(80))
        #expect(code.correctableErrors(among: 80) == 25)
        for count in 0...25 {
            var given = shares
            let liars = Array(given.indices.shuffled(using: &random).prefix(count))
            for index in liars { Self.corrupt(&given[index], using: &random) }
            let correction = try code.correct(given)
            #expect(correction.wrongShares == liars.map { given[$0].number }.sorted(), "\(count) wrong shares")
            #expect(correction.stripe == stripe, "\(count) wrong shares")
        }
    }

    @Test("past the bound the call throws, and never hands back wrong data")
    func pastTheBound() async throws {
        try await onOwnThread(Self.pastTheBound)
    }

    private static func pastTheBound() throws {
        let code = try ErasureCode(required: 29, total: 110)
        var random = SeededGenerator(seed: 30)
        let stripe = random.bytes(29 * 16)
        let shares = Array(try code.encode(stripe: stripe).prefix(80))
        for count in [26, 27, 30, 40, 51, 60] {
            var given = shares
            for index in given.indices.shuffled(using: &random).prefix(count) { corrupt(&given[index], using: &random) }
            do {
                let correction = try code.correct(given)
                Issue.record("\(count) wrong shares were 'corrected' into \(correction.stripe == stripe ? "the right" : "wrong") data")
            } catch {
                guard case .tooManyErrors(_, 80, 25) = error else { Issue.record("\(error)"); continue }
            }
        }
    }

    @Test("4/10: up to 3 wrong shares are found; a single byte is enough to be found")
    func small() throws {
        let code = try ErasureCode(required: 4, total: 10)
        var random = SeededGenerator(seed: 4)
        for trial in 0..<200 {
            let stripe = random.bytes(4 * 8)
            var shares = try code.encode(stripe: stripe)
            let count = trial % 4
            let liars = Array(shares.indices.shuffled(using: &random).prefix(count))
            for index in liars {
                shares[index].bytes[Int.random(in: 0..<8, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            }
            let correction = try code.correct(shares)
            #expect(correction.wrongShares == liars.sorted())
            #expect(correction.stripe == stripe)
        }
    }

    @Test("different shares wrong at different offsets, more of them than the bound in all")
    func scatteredErrors() throws {
        let code = try ErasureCode(required: 4, total: 10)
        var random = SeededGenerator(seed: 8)
        let stripe = random.bytes(4 * 6)
        var shares = try code.encode(stripe: stripe)
        // Three wrong shares at each offset (the bound), six different ones in all.
        for (offset, liars) in [[0, 1, 2], [3, 4, 5], [0, 4, 9], [], [6, 7, 8], [1]].enumerated() {
            for liar in liars { shares[liar].bytes[offset] ^= 0x5A }
        }
        let correction = try code.correct(shares)
        #expect(correction.wrongShares == Array(0...9))
        #expect(correction.stripe == stripe)
    }

    @Test("k + 1 shares detect one wrong share but cannot correct it; exactly k are taken as they are")
    func noRoomToCorrect() throws {
        let code = try ErasureCode(required: 4, total: 10)
        let stripe = [UInt8](0..<16)
        var shares = Array(try code.encode(stripe: stripe).prefix(5))
        let clean = try code.correct(shares)
        #expect(clean.stripe == stripe && clean.wrongShares == [])
        shares[4].bytes[0] ^= 1
        #expect(throws: ErasureCodingError.tooManyErrors(offset: 0, shares: 5, correctable: 0)) { try code.correct(shares) }
        #expect(try code.correct(Array(shares.prefix(4))).wrongShares == [])
    }

    private static func corrupt(_ share: inout Share, using random: inout SeededGenerator) {
        for offset in share.bytes.indices where Bool.random(using: &random) || offset == 0 {
            share.bytes[offset] ^= UInt8.random(in: 1...255, using: &random)
        }
    }
}
