import Logging

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

extension SupervisorEvent {
    /// The level and fields of the event's log line. `process` is the one it concerns (nil for
    /// the launch as a whole); an exit that is not a success is a warning unless the launch is
    /// `stopping`, when exits are expected.
    func logLine(process: (name: String, pid: Int32?)?, processCount: Int, stopping: Bool) -> (Logger.Level, Logger.Metadata) {
        var metadata: Logger.Metadata = [:]
        var level = Logger.Level.info
        if let process {
            metadata["process"] = .string(process.name)
            if let pid = process.pid { metadata["pid"] = "\(pid)" }
        }
        switch self {
        case .spawned(let pid):
            metadata["pid"] = "\(pid)"
        case .spawnFailed(let reason):
            level = .error
            metadata["error"] = .string(reason)
        case .ready(let sinceSpawn):
            metadata[process == nil ? "ms_since_launch" : "ms_since_spawn"] = "\(sinceSpawn.wholeMilliseconds)"
            if process == nil { metadata["processes"] = "\(processCount)" }
        case .exited(let status):
            switch status {
            case .exited(let code): metadata["code"] = "\(code)"
            case .signalled(let signal): metadata["signal"] = .string(SignalName.of(signal))
            }
            if !status.isSuccess, !stopping { level = .warning }
        case .hung(let age, let reason):
            level = .warning
            if let age { metadata["heartbeat_age_ms"] = "\(age.wholeMilliseconds)" }
            metadata["reason"] = .string(reason)
        case .restarting(let delay, let restarts):
            metadata["delay_ms"] = "\(delay.wholeMilliseconds)"
            metadata["restarts"] = "\(restarts)"
        case .givingUp(let reason):
            level = .error
            metadata["reason"] = .string(reason)
        case .stopping(let signal):
            metadata["signal"] = .string(SignalName.of(signal))
        case .stopped:
            break
        case .malformedMessage(let sample, let count):
            level = .warning
            metadata["sample"] = .string(sample)
            metadata["count"] = "\(count)"
        case .status(let text):
            metadata["status"] = .string(text)
        }
        return (level, metadata)
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
