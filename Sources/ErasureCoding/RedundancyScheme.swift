/// An object's redundancy as Storj writes it, `k/m/o/n-shareSize`: `k` shares rebuild a stripe,
/// repair starts at `m` healthy pieces, an upload succeeds with `o`, and `n` are made; a stripe is
/// `k` shares of `shareSize` bytes. Storj's release default is `29/35/80/110-256B`, its dev default
/// `4/6/8/10-256B`.
public struct RedundancyScheme: Sendable, Equatable, CustomStringConvertible {
    public let required: Int
    public let repair: Int
    public let optimal: Int
    public let total: Int
    public let shareSize: Int

    public static let release = try! RedundancyScheme(required: 29, repair: 35, optimal: 80, total: 110, shareSize: 256)
    public static let dev = try! RedundancyScheme(required: 4, repair: 6, optimal: 8, total: 10, shareSize: 256)

    /// - Throws: ``ErasureCodingError/redundancy(value:field:problem:)`` naming the first field
    ///   that breaks 1 ≤ k ≤ m ≤ o ≤ n ≤ 256, or a share size outside 1 byte to 1 MiB.
    public init(required: Int, repair: Int, optimal: Int, total: Int, shareSize: Int) throws(ErasureCodingError) {
        let value = "\(required)/\(repair)/\(optimal)/\(total)-\(shareSize)B"
        func refuse(_ field: String, _ problem: String) -> ErasureCodingError {
            .redundancy(value: value, field: field, problem: problem)
        }
        guard required >= 1 else { throw refuse("required (k)", "is \(required); it must be at least 1") }
        guard total <= 256 else { throw refuse("total (n)", "is \(total); it must be at most 256") }
        guard repair >= required else { throw refuse("repair (m)", "is \(repair); it must be at least required (\(required))") }
        guard optimal >= repair else { throw refuse("optimal (o)", "is \(optimal); it must be at least repair (\(repair))") }
        guard total >= optimal else { throw refuse("total (n)", "is \(total); it must be at least optimal (\(optimal))") }
        guard (1...(1 << 20)).contains(shareSize) else { throw refuse("share size", "is \(shareSize) bytes; it must be from 1 byte to 1 MiB") }
        self.required = required
        self.repair = repair
        self.optimal = optimal
        self.total = total
        self.shareSize = shareSize
    }

    /// Parses `k/m/o/n-shareSize`, the share size in bytes with an optional `B`, `KiB` or `MiB`.
    /// - Throws: ``ErasureCodingError/redundancy(value:field:problem:)`` naming what is wrong.
    public init(parsing text: String) throws(ErasureCodingError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw .redundancy(value: text, field: "format", problem: "must be k/m/o/n-shareSize, as 29/35/80/110-256B")
        }
        let counts = parts[0].split(separator: "/", omittingEmptySubsequences: false)
        let names = ["required (k)", "repair (m)", "optimal (o)", "total (n)"]
        guard counts.count == 4 else {
            throw .redundancy(value: text, field: "format", problem: "must have four counts k/m/o/n before the share size, as 29/35/80/110-256B")
        }
        var numbers: [Int] = []
        for (name, count) in zip(names, counts) {
            guard let number = Int(count), number >= 0 else {
                throw .redundancy(value: text, field: name, problem: "\"\(count)\" is not a whole number")
            }
            numbers.append(number)
        }
        let sizeText = parts[1]
        let units: [(suffix: String, factor: Int)] = [("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1), ("", 1)]
        let unit = units.first { sizeText.hasSuffix($0.suffix) }!
        guard let size = Int(sizeText.dropLast(unit.suffix.count)), size >= 0, size <= (1 << 20) else {
            throw .redundancy(value: text, field: "share size", problem: "\"\(sizeText)\" is not a size in bytes, as 256B or 1KiB")
        }
        do {
            try self.init(required: numbers[0], repair: numbers[1], optimal: numbers[2], total: numbers[3], shareSize: size * unit.factor)
        } catch .redundancy(_, let field, let problem) {
            throw .redundancy(value: text, field: field, problem: problem)
        } catch {
            throw error
        }
    }

    /// `k × shareSize`: the bytes of data in one stripe.
    public var stripeSize: Int { required * shareSize }

    /// The size of each piece of a segment of `segmentSize` bytes once padded and encoded.
    public func pieceSize(ofSegment segmentSize: Int) -> Int {
        Padding.paddedSize(of: segmentSize, stripeSize: stripeSize) / required
    }

    public var description: String { "\(required)/\(repair)/\(optimal)/\(total)-\(shareSize)B" }
}
