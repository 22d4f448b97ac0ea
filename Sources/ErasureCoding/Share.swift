/// One share of a stripe, or a run of them (the same piece over several stripes): its number, from
/// 0 to the code's total − 1, and its bytes. Shares 0 ..< required are the data itself.
public struct Share: Sendable, Equatable {
    public var number: Int
    public var bytes: [UInt8]

    public init(number: Int, bytes: [UInt8]) {
        self.number = number
        self.bytes = bytes
    }
}

/// A share whose bytes the caller owns, for the calls that copy nothing. The bytes must stay valid
/// for the duration of the call they are passed to.
public struct ShareView {
    public var number: Int
    public var bytes: UnsafeRawBufferPointer

    public init(number: Int, bytes: UnsafeRawBufferPointer) {
        self.number = number
        self.bytes = bytes
    }
}

/// A set of share numbers (0...255), the key of the code's cache of inverted matrices.
struct ShareSet: Hashable, Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init(_ numbers: some Sequence<Int>) {
        for number in numbers { insert(number) }
    }

    mutating func insert(_ number: Int) {
        let bit = UInt64(1) << UInt64(number & 63)
        switch number >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    static func == (left: ShareSet, right: ShareSet) -> Bool {
        left.words == right.words
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}
