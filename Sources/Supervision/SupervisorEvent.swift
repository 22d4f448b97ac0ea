/// Something that happened to a supervised process, as the supervisor logs it. Each case is one
/// log line whose message is ``message``.
public enum SupervisorEvent: Sendable, Equatable {
    case spawned(pid: Int32)
    /// posix_spawn refused; counted as a failed start.
    case spawnFailed(String)
    case ready(sinceSpawn: Duration)
    case exited(ExitStatus)
    /// No heartbeat for `heartbeatAge`, or (when it is nil) no READY in time.
    case hung(heartbeatAge: Duration?, reason: String)
    case restarting(delay: Duration, restarts: Int)
    case givingUp(reason: String)
    /// A stop signal went to the process group: SIGTERM first, SIGKILL when time ran out.
    case stopping(signal: Int32)
    case stopped
    /// A notify line that is not a message; `count` is how many so far from this process.
    case malformedMessage(sample: String, count: Int)
    case status(String)

    /// The log line's message.
    public var message: String {
        switch self {
        case .spawned: "spawned"
        case .spawnFailed: "spawn failed"
        case .ready: "ready"
        case .exited: "exited"
        case .hung: "hung"
        case .restarting: "restarting"
        case .givingUp: "giving up"
        case .stopping: "stopping"
        case .stopped: "stopped"
        case .malformedMessage: "malformed notify message"
        case .status: "status"
        }
    }
}

/// An event with the process it concerns (nil for the supervisor as a whole) and when.
public struct SupervisorRecord: Sendable, Equatable {
    public let process: String?
    public let event: SupervisorEvent
    public let at: ContinuousClock.Instant

    public init(process: String?, event: SupervisorEvent, at: ContinuousClock.Instant) {
        self.process = process
        self.event = event
        self.at = at
    }
}
