import SatelliteConfig

/// The `metainfo` section: how objects are stored.
public struct MetainfoConfig: ConfigSection, Equatable {
    /// Written `k/repair/optimal/total`, as `29/35/80/110`.
    public var redundancy = "29/35/80/110"
    /// The bytes each piece gets of every stripe (Storj's erasure share size).
    public var shareSize: Int64 = 256
    /// The largest segment a client uploads; a node needs room for one piece of it.
    public var maxSegmentSize: Int64 = 64 << 20
    /// How long an object may stay pending before it is deleted.
    public var zombieDeadline: Duration = .seconds(24 * 3600)
    /// How long the API believes a key that opened its project without asking the database.
    public var apiKeyCacheExpiration: Duration = .seconds(60)
    /// How many keys the API remembers so.
    public var apiKeyCacheCapacity = 10_000

    public init() {}

    /// The four counts of ``redundancy``; the loader has checked them.
    public var redundancyCounts: (k: Int, repair: Int, optimal: Int, total: Int) {
        Self.parse(redundancy)!
    }

    public static let fields: [ConfigField<Self>] = [
        .string("redundancy", \.redundancy, help: "erasure code as k/repair/optimal/total, with k <= repair < optimal <= total <= 600") { text in
            parse(text) == nil ? "k/repair/optimal/total with 1 <= k <= repair < optimal <= total <= 600, as 29/35/80/110" : nil
        },
        .size("share-size", \.shareSize, help: "bytes each piece gets of every stripe of a segment (the erasure share size)", range: 1 ... 1 << 16),
        .size("max-segment-size", \.maxSegmentSize, help: "largest segment a client uploads; a node needs free disk for one piece of it", range: 1 ... 1 << 34),
        .duration("zombie-deadline", \.zombieDeadline, help: "how long an upload may stay pending after its beginning or its last committed segment before it is deleted", range: .seconds(1) ... .seconds(86400 * 30)),
        .duration(
            "api-key-cache-expiration", \.apiKeyCacheExpiration,
            help: "how long the API believes an API key that opened its project without asking the database again; 0s asks on every request",
            range: .zero ... .seconds(3600)
        ),
        .int("api-key-cache-capacity", \.apiKeyCacheCapacity, help: "how many API keys the API remembers so", range: 0 ... 10_000_000),
    ]

    static func parse(_ text: String) -> (k: Int, repair: Int, optimal: Int, total: Int)? {
        let numbers = text.split(separator: "/").compactMap { Int($0) }
        guard numbers.count == 4, text.split(separator: "/").count == 4 else { return nil }
        let (k, repair, optimal, total) = (numbers[0], numbers[1], numbers[2], numbers[3])
        guard 1 <= k, k <= repair, repair < optimal, optimal <= total, total <= 600 else { return nil }
        return (k, repair, optimal, total)
    }
}
