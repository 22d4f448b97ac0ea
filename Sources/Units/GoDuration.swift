/// Durations as Go's `time.ParseDuration` reads them and `Duration.String` writes them, the
/// notation Storj's configuration uses: `1h0m0s`, `1h30m`, `30s`, `1.5s`, `500ms`, `250us`.
public enum GoDuration {
    private static let units: [(suffix: String, nanoseconds: Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]

    /// Reads a duration; `nil` if the text is not one. A bare `0` is zero.
    public static func parse(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingSpaces)
        var negative = false
        if rest.first == "-" || rest.first == "+" {
            negative = rest.first == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return .zero }
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            guard let unit = units.first(where: { $0.suffix == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            total += value * unit.nanoseconds
        }
        guard total < 9.2e18 else { return nil }
        let nanoseconds = Int64(total.rounded())
        return .nanoseconds(negative ? -nanoseconds : nanoseconds)
    }

    /// Writes a duration as Go does: `0s`, `500ms`, `1.5s`, `1m30s`, `1h0m0s`.
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        var nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        guard nanoseconds != 0 else { return "0s" }
        let sign = nanoseconds < 0 ? "-" : ""
        nanoseconds = abs(nanoseconds)
        if nanoseconds < 1_000 { return "\(sign)\(nanoseconds)ns" }
        if nanoseconds < 1_000_000 { return sign + decimal(nanoseconds, scale: 1_000) + "µs" }
        if nanoseconds < 1_000_000_000 { return sign + decimal(nanoseconds, scale: 1_000_000) + "ms" }
        let hours = nanoseconds / 3_600_000_000_000
        let minutes = nanoseconds / 60_000_000_000 % 60
        let secondsText = decimal(nanoseconds % 60_000_000_000, scale: 1_000_000_000) + "s"
        if hours > 0 { return "\(sign)\(hours)h\(minutes)m\(secondsText)" }
        if minutes > 0 { return "\(sign)\(minutes)m\(secondsText)" }
        return sign + secondsText
    }

    /// `value / scale` with the fraction's trailing zeros dropped.
    private static func decimal(_ value: Int64, scale: Int64) -> String {
        let whole = value / scale
        var fraction = value % scale
        guard fraction != 0 else { return String(whole) }
        var digits = String(scale).count - 1
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let text = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - text.count) + text
    }
}

/// Sizes in bytes with SI (`KB`, `MB`, `GB`, `TB`) or binary (`KiB`, `MiB`, `GiB`, `TiB`) units.
public enum ByteSize {
    private static let units: [(suffix: String, bytes: Int64)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("kB", 1_000),
        ("B", 1), ("", 1),
    ]

    /// Reads a size; `nil` if the text is not one. Units are case-sensitive, as `MiB` and `mb` differ.
    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingSpaces
        let number = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unitText = trimmed.dropFirst(number.count).trimmingSpaces
        guard let value = Double(number), let unit = units.first(where: { $0.suffix == unitText }) else { return nil }
        let bytes = value * Double(unit.bytes)
        guard bytes < 9.2e18, bytes == bytes.rounded() else { return nil }
        return Int64(bytes)
    }

    /// Writes a size with the largest binary unit that divides it: `64MiB`, `1536KiB`, `100B`.
    public static func format(_ bytes: Int64) -> String {
        guard bytes != 0 else { return "0B" }
        for unit in units.prefix(4) where bytes % unit.bytes == 0 {
            return "\(bytes / unit.bytes)\(unit.suffix)"
        }
        return "\(bytes)B"
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
