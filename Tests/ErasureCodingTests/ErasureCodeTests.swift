import Crypto
import ErasureCoding
import SeededRandom
import Testing

@Suite("The code: Storj's bytes, on ISA-L and in plain Swift alike")
struct ErasureCodeTests {
    /// Made by storj/infectious ff92a80 (`NewFEC(k, n)`, `Encode` of `goldenInput(k × share)`),
    /// once, with Go: the SHA-256 of every share in order, and the shares of the small ones.
    static let golden: [(required: Int, total: Int, share: Int, sha256: String, shares: String?)] = [
        (8, 14, 2, "e7a50bcddf51e7d15b07c821ff674b810a649ea2acc86b794d64a6441ed43bec", "078a12951da028ab33b63ec149cc54d7bd8c3f3edfb759c2e18785a9"),
        (4, 10, 256, "d829e4ff81d00dd5a69236f53f81676f797c3d655748d97d38ca97ecbf0ce19e", nil),
        (29, 110, 256, "cbabceb023693544c53deedb0110ce1050ece4f5175a21aa8777643abfc0b5a8", nil),
        (1, 1, 3, "3d632ab1d880525e5c30b3d9dd2e17ea429f4ec28431bb5c402a07ebe0065f8c", "078a12"),
        (3, 256, 1, "9267478bf0eeeb7047f26398539089117c0134db96c3f5e4df47919481d96e75", nil),
    ]

    @Test("each kernel gives storj/infectious's shares", arguments: Kernel.allCases)
    func golden(kernel: Kernel) throws {
        for vector in Self.golden {
            let code = try ErasureCode(required: vector.required, total: vector.total, kernel: kernel)
            let shares = try code.encode(stripe: goldenInput(vector.required * vector.share))
            #expect(shares.map(\.number) == Array(0..<vector.total))
            let all = shares.flatMap(\.bytes)
            #expect(hex(SHA256.hash(data: all)) == vector.sha256, "\(vector.required)/\(vector.total) with \(kernel)")
            if let expected = vector.shares { #expect(hex(all) == expected) }
        }
    }

    @Test("ISA-L and plain Swift agree for every shape tried, and the data shares are the data")
    func kernelsAgree() async throws {
        try await onOwnThread(Self.kernelsAgree)
    }

    private static func kernelsAgree() throws {
        var random = SeededGenerator(seed: 13)
        var shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 256, 7), (256, 256, 3), (255, 256, 5), (29, 110, 256), (4, 10, 256), (10, 14, 4096), (16, 20, 33)]
        for _ in 0..<40 {
            let total = Int.random(in: 1...256, using: &random)
            shapes.append((Int.random(in: 1...total, using: &random), total, Int.random(in: 1...300, using: &random)))
        }
        for (required, total, share) in shapes {
            let stripe = random.bytes(required * share)
            let fast = try ErasureCode(required: required, total: total, kernel: .isal).encode(stripe: stripe)
            let plain = try ErasureCode(required: required, total: total, kernel: .plain).encode(stripe: stripe)
            #expect(fast == plain, "\(required)/\(total), \(share)-byte shares")
            #expect(fast.prefix(required).flatMap(\.bytes) == stripe)
        }
    }

    @Test("share i is the value at 2^i (0 for share 0) of the polynomial through the data shares")
    func sharesAreEvaluations() throws {
        // Independent of the encoding matrix: Lagrange interpolation, byte offset by byte offset.
        let code = try ErasureCode(required: 5, total: 40)
        var random = SeededGenerator(seed: 5)
        let stripe = random.bytes(5 * 8)
        let shares = try code.encode(stripe: stripe)
        let points = (0..<40).map(point)
        for offset in 0..<8 {
            let values = (0..<5).map { stripe[$0 * 8 + offset] }
            for share in shares {
                #expect(share.bytes[offset] == lagrange(points: Array(points[0..<5]), values: values, at: points[share.number]))
            }
        }
    }

    @Test("parity of separate shards is that of the same shards as one stripe")
    func shards() throws {
        let code = try ErasureCode(required: 10, total: 14)
        var random = SeededGenerator(seed: 3)
        let shards = (0..<10).map { _ in random.bytes(4096) }
        let inputs = shards.map { shard in
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: shard.count, alignment: 16)
            copy.copyBytes(from: shard)
            return UnsafeRawBufferPointer(copy)
        }
        let outputs = (0..<4).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16) }
        defer { for buffer in inputs { buffer.deallocate() }; for buffer in outputs { buffer.deallocate() } }
        try code.encodeParity(shares: inputs, into: outputs)
        let asStripe = try code.encode(stripe: shards.flatMap { $0 })
        #expect(outputs.map { Array($0) } == asStripe[10...].map(\.bytes))
    }

    private func point(_ number: Int) -> UInt8 {
        var value: UInt8 = 1
        guard number > 0 else { return 0 }
        for _ in 0..<(number % 255) { value = times2(value) }
        return value
    }

    private func times2(_ value: UInt8) -> UInt8 {
        value & 0x80 != 0 ? (value << 1) ^ 0x1D : value << 1
    }

    private func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var product: UInt8 = 0
        var a = a
        var b = b
        while b != 0 {
            if b & 1 != 0 { product ^= a }
            a = times2(a)
            b >>= 1
        }
        return product
    }

    private func inverse(_ a: UInt8) -> UInt8 {
        (1...255).map(UInt8.init).first { multiply(a, $0) == 1 }!
    }

    private func lagrange(points: [UInt8], values: [UInt8], at x: UInt8) -> UInt8 {
        var sum: UInt8 = 0
        for (i, xi) in points.enumerated() {
            var term = values[i]
            for (j, xj) in points.enumerated() where j != i {
                term = multiply(term, multiply(x ^ xj, inverse(xi ^ xj)))
            }
            sum ^= term
        }
        return sum
    }
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
