/// Durations as the whole counts that poll timeouts, the launch plan and the logs take.
extension Duration {
    /// Whole milliseconds, rounded down.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whole milliseconds, rounded up: a wait of this many never ends early.
    var millisecondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        let whole = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return attoseconds % 1_000_000_000_000_000 > 0 ? whole + 1 : whole
    }

    /// Whole nanoseconds, as the launch plan writes durations.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
