/// The clocks of one supervised process: how long it may take to start, to beat, to stop, and
/// how restarts are spaced. Every process has its own copy, so one entry can be given more time.
public struct SupervisionTimings: Sendable, Equatable {
    /// How often a notify process sends `WATCHDOG=1`; told to the process, not enforced.
    public var heartbeatInterval: Duration = .seconds(1)
    /// Silence after which a notify process counts as hung; zero turns hang detection off.
    public var heartbeatTimeout: Duration = .seconds(5)
    /// Time from spawn to `READY=1` for a notify process; zero waits for ever.
    public var startTimeout: Duration = .seconds(30)
    /// Time from SIGTERM to SIGKILL.
    public var stopTimeout: Duration = .seconds(10)
    /// The delay before the second restart in a row; it doubles with each further failure.
    public var restartBackoffInitial: Duration = .milliseconds(100)
    /// The longest delay between restarts.
    public var restartBackoffMax: Duration = .seconds(30)
    /// Time ready after which a process counts as healthy again, and its backoff starts over.
    public var restartBackoffReset: Duration = .seconds(60)
    /// Restarts allowed within ``restartWindow``; one more and the supervisor gives up.
    public var restartLimit: Int = 10
    /// The window over which restarts are counted.
    public var restartWindow: Duration = .seconds(60)

    public init() {}
}
