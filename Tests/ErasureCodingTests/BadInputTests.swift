import ErasureCoding
import Testing

@Suite("Bad input is an error, never a crash")
struct BadInputTests {
    @Test("a code needs 1 <= k <= n <= 256")
    func parameters() {
        for (required, total) in [(5, 4), (0, 4), (-1, 3), (4, 257), (300, 300)] {
            #expect(throws: ErasureCodingError.parameters(required: required, total: total)) { try ErasureCode(required: required, total: total) }
        }
        #expect((try? ErasureCode(required: 256, total: 256)) != nil)
    }

    @Test("shares that cannot rebuild a stripe are refused with what was wrong")
    func shares() throws {
        let code = try ErasureCode(required: 4, total: 10)
        let shares = try code.encode(stripe: [UInt8](repeating: 9, count: 4 * 16))
        #expect(throws: ErasureCodingError.tooFewShares(have: 3, need: 4)) { try code.rebuild(Array(shares.prefix(3))) }
        #expect(throws: ErasureCodingError.tooFewShares(have: 0, need: 4)) { try code.rebuild([]) }
        #expect(throws: ErasureCodingError.duplicateShare(2)) { try code.rebuild([shares[2], shares[5], shares[2], shares[7]]) }
        var short = shares[6]
        short.bytes.removeLast()
        #expect(throws: ErasureCodingError.shareLength(number: 6, length: 15, expected: 16)) { try code.rebuild([shares[1], shares[2], short, shares[7]]) }
        var stray = shares[3]
        stray.number = 10
        #expect(throws: ErasureCodingError.shareNumber(10, total: 10)) { try code.rebuild([shares[1], shares[2], stray, shares[7]]) }
        stray.number = -1
        #expect(throws: ErasureCodingError.shareNumber(-1, total: 10)) { try code.rebuild([shares[1], shares[2], stray, shares[7]]) }
        #expect(throws: ErasureCodingError.duplicateShare(2)) { try code.correct([shares[2], shares[5], shares[2], shares[7], shares[8]]) }
    }

    @Test("a stripe of the wrong length is refused")
    func stripes() throws {
        let code = try ErasureCode(required: 4, total: 10)
        #expect(throws: ErasureCodingError.self) { try code.encode(stripe: [1, 2, 3]) }
        var parity = [UInt8](repeating: 0, count: 5)
        let stripe: [UInt8] = [1, 2, 3, 4]
        #expect(throws: ErasureCodingError.self) {
            try stripe.withUnsafeBytes { data in try parity.withUnsafeMutableBytes { try code.encodeParity(stripe: data, into: $0) } }
        }
    }

    @Test("a pad length larger than the data, or under its own 4 bytes, is refused")
    func padding() throws {
        #expect(throws: ErasureCodingError.padding(padLength: 5000, paddedSize: 1024)) {
            try Padding.unpaddedSize(paddedSize: 1024, trailer: [0, 0, 0x13, 0x88])
        }
        #expect(throws: ErasureCodingError.padding(padLength: 3, paddedSize: 1024)) { try Padding.unpaddedSize(paddedSize: 1024, trailer: [0, 0, 0, 3]) }
        #expect(try Padding.unpaddedSize(paddedSize: 1024, trailer: [0, 0, 4, 0]) == 0)
        // A decoder given pieces whose last stripe claims more padding than the segment has.
        let code = try ErasureCode(required: 2, total: 4)
        var encoder = SegmentEncoder(code: code, shareSize: 4)
        #expect(encoder.append([UInt8](repeating: 1, count: 4)).length == 0)
        let runs = encoder.finish()
        let lying = (0..<4).map { Share(number: $0, bytes: Array(runs[$0])) }
        var stripe = try code.rebuild(lying)
        stripe[4...7] = [0, 0, 1, 0]  // 256 bytes of pad in an 8-byte segment
        let forged = try code.encode(stripe: stripe)
        var decoder = try SegmentDecoder(code: code, shareSize: 4, pieceSize: 4)
        #expect(throws: ErasureCodingError.padding(padLength: 256, paddedSize: 8)) { try decoder.decode(Array(forged.prefix(2))) }
    }

    @Test("a decoder refuses runs past the piece's end and runs of partial shares")
    func decoderBounds() throws {
        let code = try ErasureCode(required: 2, total: 4)
        var decoder = try SegmentDecoder(code: code, shareSize: 4, pieceSize: 8)
        let runs = [Share(number: 0, bytes: [UInt8](repeating: 0, count: 12)), Share(number: 1, bytes: [UInt8](repeating: 0, count: 12))]
        #expect(throws: ErasureCodingError.self) { try decoder.decode(runs) }
        let partial = [Share(number: 0, bytes: [1, 2, 3]), Share(number: 1, bytes: [1, 2, 3])]
        #expect(throws: ErasureCodingError.self) { try decoder.decode(partial) }
        #expect(throws: ErasureCodingError.self) { try SegmentDecoder(code: code, shareSize: 4, pieceSize: 6) }
    }

    @Test("a redundancy value names the field it breaks")
    func redundancy() throws {
        #expect(try RedundancyScheme(parsing: "29/35/80/110-256B") == .release)
        #expect(try RedundancyScheme(parsing: "4/6/8/10-256") == .dev)
        #expect(try RedundancyScheme(parsing: "10/12/13/14-1KiB").shareSize == 1024)
        let cases: [(String, String)] = [
            ("29/35/80/300-256B", "total (n)"),
            ("0/35/80/110-256B", "required (k)"),
            ("29/20/80/110-256B", "repair (m)"),
            ("29/35/30/110-256B", "optimal (o)"),
            ("29/35/80/70-256B", "total (n)"),
            ("29/35/80/110-0B", "share size"),
            ("29/35/80/110-2MiB", "share size"),
            ("29/35/80/110-lots", "share size"),
            ("29/x/80/110-256B", "repair (m)"),
            ("29/35/80-256B", "format"),
            ("29/35/80/110", "format"),
        ]
        for (text, field) in cases {
            do {
                _ = try RedundancyScheme(parsing: text)
                Issue.record("\(text) was accepted")
            } catch {
                guard case .redundancy(let value, let named, _) = error else { Issue.record("\(error)"); continue }
                #expect(value == text)
                #expect(named == field, "\(text): \(error)")
            }
        }
        #expect(RedundancyScheme.release.stripeSize == 7424)
        #expect(RedundancyScheme.release.pieceSize(ofSegment: 64 << 20) == 2_314_240)
        #expect(RedundancyScheme.dev.pieceSize(ofSegment: 64 << 20) == 16_777_472)
    }
}
