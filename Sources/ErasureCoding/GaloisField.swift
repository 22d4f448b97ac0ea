/// Arithmetic in GF(2^8) with the polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D) and generator 2: the
/// field of Storj's erasure code (storj/infectious) and of ISA-L, so both compute the same bytes.
enum GaloisField {
    /// `exp[i]` is 2^i, for i in 0..<510, so that `exp[log a + log b]` needs no reduction mod 255.
    static let exp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 510)
        var value: UInt16 = 1
        for power in 0..<255 {
            table[power] = UInt8(value)
            table[power + 255] = UInt8(value)
            value <<= 1
            if value & 0x100 != 0 { value ^= 0x11D }
        }
        return table
    }()

    /// `log[a]` for a ≠ 0; `log[0]` is unused.
    static let log: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 256)
        for power in 0..<255 { table[Int(exp[power])] = UInt8(power) }
        return table
    }()

    /// Every product: `products[a << 8 | b]` is a·b. Row `a` is what the plain kernel reads for a
    /// coefficient a.
    static let products: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 65536)
        for a in 1..<256 {
            for b in 1..<256 { table[a << 8 | b] = exp[Int(log[a]) + Int(log[b])] }
        }
        return table
    }()

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        a == 0 || b == 0 ? 0 : exp[Int(log[Int(a)]) + Int(log[Int(b)])]
    }

    /// The multiplicative inverse of `a`, which must not be 0.
    static func inverse(_ a: UInt8) -> UInt8 {
        precondition(a != 0, "0 has no inverse in GF(2^8)")
        return exp[255 - Int(log[Int(a)])]
    }

    /// The evaluation point of share `number`: 0 for share 0, 2^number for the others (storj/infectious's
    /// choice; with 2^255 = 1, the 256 points of shares 0...255 are all distinct).
    static func point(ofShare number: Int) -> UInt8 {
        number == 0 ? 0 : exp[number % 255]
    }

    /// `base` to the power `exponent` (0^0 = 1).
    static func power(_ base: UInt8, _ exponent: Int) -> UInt8 {
        if exponent == 0 { return 1 }
        if base == 0 { return 0 }
        return exp[(Int(log[Int(base)]) * exponent) % 255]
    }
}
