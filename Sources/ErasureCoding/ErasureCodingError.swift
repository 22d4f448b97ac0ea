/// What an erasure-coding call refused, with the values that made it refuse.
public enum ErasureCodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The code's parameters break 1 ≤ required ≤ total ≤ 256.
    case parameters(required: Int, total: Int)
    /// A share number outside 0 ..< total.
    case shareNumber(Int, total: Int)
    /// The same share number twice.
    case duplicateShare(Int)
    /// A share whose length is not the others' (or not what the call expects).
    case shareLength(number: Int, length: Int, expected: Int)
    /// Fewer shares than the code needs.
    case tooFewShares(have: Int, need: Int)
    /// Shares other than (or in another order than) those a ``Rebuilder`` was made for.
    case unexpectedShares(given: [Int], expected: [Int])
    /// A stripe (or a buffer for one) of a length the call cannot take.
    case stripeLength(length: Int, expected: String)
    /// A padded segment whose trailing pad length cannot be right.
    case padding(padLength: Int, paddedSize: Int)
    /// More shares of a stripe are wrong than its redundancy can correct: at byte `offset` of
    /// the shares, `shares` shares could correct at most `correctable` errors.
    case tooManyErrors(offset: Int, shares: Int, correctable: Int)
    /// A redundancy value that does not parse or breaks its rules; `field` names the part.
    case redundancy(value: String, field: String, problem: String)

    public var description: String {
        switch self {
        case .parameters(let required, let total):
            "erasure code \(required)/\(total): required and total must satisfy 1 <= required <= total <= 256"
        case .shareNumber(let number, let total):
            "share number \(number) is outside 0..<\(total)"
        case .duplicateShare(let number):
            "share number \(number) is given twice"
        case .shareLength(let number, let length, let expected):
            "share \(number) is \(length) bytes; expected \(expected)"
        case .tooFewShares(let have, let need):
            "\(have) shares given; at least \(need) are needed"
        case .unexpectedShares(let given, let expected):
            "shares \(given) given to a rebuilder made for shares \(expected)"
        case .stripeLength(let length, let expected):
            "a stripe buffer of \(length) bytes; expected \(expected)"
        case .padding(let padLength, let paddedSize):
            "pad length \(padLength) does not fit a padded segment of \(paddedSize) bytes"
        case .tooManyErrors(let offset, let shares, let correctable):
            "more than \(correctable) of \(shares) shares are wrong at byte \(offset) of the stripe's shares: too many errors to correct"
        case .redundancy(let value, let field, let problem):
            "redundancy \"\(value)\": \(field) \(problem)"
        }
    }
}
