/// The delay before each restart of one process.
///
/// The first restart after a healthy run is immediate, because one crash is most often a fluke;
/// each further failure in a row doubles the delay from `initial` up to `maximum`, with up to a
/// fifth taken off at random so that processes failing together do not restart in lockstep.
/// A run that stays ready for `reset` counts as healthy and starts the sequence over.
public struct RestartBackoff: Sendable, Equatable {
    public let initial: Duration
    public let maximum: Duration
    public let reset: Duration
    /// Failures since the last healthy run.
    public private(set) var failures = 0

    public init(initial: Duration, maximum: Duration, reset: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.reset = reset
    }

    /// - Parameter failures: failures in a row so far (a handed-over launcher's count).
    public init(_ timings: SupervisionTimings, failures: Int = 0) {
        self.init(initial: timings.restartBackoffInitial, maximum: timings.restartBackoffMax, reset: timings.restartBackoffReset)
        self.failures = failures
    }

    /// Records a failure and returns the delay before the next start.
    /// - Parameters:
    ///   - readyFor: how long the run that just ended was ready (nil if it never was).
    ///   - jitter: a number in 0..<1 from the caller's random source; 0 gives the full delay.
    public mutating func nextDelay(readyFor: Duration?, jitter: Double) -> Duration {
        if let readyFor, readyFor >= reset { failures = 0 }
        defer { failures += 1 }
        guard failures > 0 else { return .zero }
        var delay = initial
        for _ in 1..<failures {
            delay *= 2
            if delay >= maximum { break }
        }
        delay = min(delay, maximum)
        return delay * (1 - 0.2 * min(max(jitter, 0), 1))
    }
}
