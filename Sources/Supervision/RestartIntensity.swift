/// Counts restarts within a sliding window, as OTP's intensity and period: more than `limit`
/// restarts within `window` means restarting does not help.
public struct RestartIntensity: Sendable, Equatable {
    public let limit: Int
    public let window: Duration
    /// When the restarts still in the window happened.
    public private(set) var times: [ContinuousClock.Instant] = []

    /// - Parameter times: restarts already counted (a handed-over launcher's).
    public init(limit: Int, window: Duration, times: [ContinuousClock.Instant] = []) {
        self.limit = limit
        self.window = window
        self.times = times
    }

    /// Restarts counted within the window as of the last ``record(at:)``.
    public var recent: Int { times.count }

    /// Records a restart at `now`; returns false when it exceeds the limit.
    public mutating func record(at now: ContinuousClock.Instant) -> Bool {
        times.removeAll { now - $0 >= window }
        times.append(now)
        return times.count <= limit
    }
}
