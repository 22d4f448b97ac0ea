import Units

#if canImport(Glibc)
import Glibc
import Units
#endif

/// One spawned instance of a process.
public struct ChildRun: Sendable, Equatable {
    public let pid: Int32
    public let spawnedAt: ContinuousClock.Instant
    public var readyAt: ContinuousClock.Instant?
    /// The last READY or WATCHDOG.
    public var heartbeat: ContinuousClock.Instant
    /// The version the process said it is (`VERSION=`), if it did.
    public var version: String?

    public init(pid: Int32, spawnedAt: ContinuousClock.Instant) {
        self.pid = pid
        self.spawnedAt = spawnedAt
        self.heartbeat = spawnedAt
    }
}

/// Why a process is being stopped: on request it stays down; hung, it is restarted.
public enum StopReason: Sendable, Equatable {
    case requested
    case hung
}

/// Where one supervised process stands.
public enum ChildState: Sendable, Equatable {
    /// Never started: waiting for what it comes after.
    case idle
    /// Spawned; waiting for READY (or, for a one-shot, for its exit).
    case starting(ChildRun)
    case ready(ChildRun)
    /// Sent SIGTERM; SIGKILL follows at `killAt` unless `killed` already.
    case stopping(ChildRun, StopReason, killAt: ContinuousClock.Instant, killed: Bool)
    /// Exited; spawns again at `until`.
    case backingOff(until: ContinuousClock.Instant)
    /// Will not run again by itself: stopped, finished, or not restarted by its policy.
    case down(ExitStatus?)

    public var run: ChildRun? {
        switch self {
        case .starting(let run), .ready(let run), .stopping(let run, _, _, _): run
        case .idle, .backingOff, .down: nil
        }
    }
}

/// What the supervisor must do after a process's state changed.
public enum ChildAction: Sendable, Equatable {
    case spawn
    /// Send this signal to the process's group.
    case signal(Int32)
    case report(SupervisorEvent)
    /// Supervision cannot go on: stop everything and exit with failure.
    case giveUp(reason: String)
}

/// What happens to one supervised process: a state, and one transition per event.
///
/// A plain value with no processes or clocks of its own: the supervisor feeds it events with the
/// time they happened and carries out the actions it returns, and tests drive it directly.
public struct ChildMachine: Sendable {
    public enum Event: Sendable, Equatable {
        case start
        case spawned(pid: Int32)
        case spawnFailed(String)
        case message(NotifyMessage)
        case exited(ExitStatus)
        /// Stop for good: SIGTERM, then SIGKILL after the stop timeout.
        case stop
        /// Stop for good at once with SIGKILL.
        case kill
        /// Time passed; acts on whatever deadline is due.
        case tick
    }

    public let name: String
    public let notify: Bool
    public let oneshot: Bool
    public let restart: RestartPolicy
    public let timings: SupervisionTimings
    public private(set) var state: ChildState = .idle
    public private(set) var backoff: RestartBackoff
    public private(set) var intensity: RestartIntensity
    /// Restarts since the supervisor began.
    public private(set) var restarts = 0
    /// How the last run ended, if one did.
    public private(set) var lastExit: ExitStatus?
    /// Cleared by stop and kill: a process that is being stopped for good is not restarted.
    public private(set) var restartsAllowed = true
    private let jitter: @Sendable () -> Double

    public init(_ spec: ProcessSpec, jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        name = spec.name
        notify = spec.notify
        oneshot = spec.oneshot
        restart = spec.restart
        timings = spec.timings
        backoff = RestartBackoff(spec.timings)
        intensity = RestartIntensity(limit: spec.timings.restartLimit, window: spec.timings.restartWindow)
        self.jitter = jitter
    }

    /// Ready to serve; for a one-shot, finished with exit code 0.
    public var satisfiesDependants: Bool {
        switch state {
        case .ready: !oneshot
        case .down(let status): oneshot && status?.isSuccess == true
        default: false
        }
    }

    /// Whether a process is running (or being stopped).
    public var isAlive: Bool { state.run != nil }

    /// The next time a ``Event/tick`` has something to do, if any.
    public var nextDeadline: ContinuousClock.Instant? {
        switch state {
        case .starting(let run):
            let waitsForReady = notify || oneshot
            return waitsForReady && timings.startTimeout > .zero ? run.spawnedAt + timings.startTimeout : nil
        case .ready(let run):
            return notify && timings.heartbeatTimeout > .zero ? run.heartbeat + timings.heartbeatTimeout : nil
        case .stopping(_, _, let killAt, let killed):
            return killed ? nil : killAt
        case .backingOff(let until):
            return until
        case .idle, .down:
            return nil
        }
    }

    /// Keeps the process from being restarted again, as when the supervisor shuts down; one
    /// waiting to restart stays down.
    public mutating func holdRestarts() -> [ChildAction] {
        restartsAllowed = false
        guard case .backingOff = state else { return [] }
        state = .down(nil)
        return [.report(.stopped)]
    }

    /// Applies `event`, which happened at `now`, and returns what the supervisor must do.
    public mutating func handle(_ event: Event, at now: ContinuousClock.Instant) -> [ChildAction] {
        if case .exited(let status) = event { lastExit = status }
        switch (event, state) {
        case (.start, .idle), (.start, .down):
            restartsAllowed = true
            return [.spawn]

        case (.spawned(let pid), _):
            var run = ChildRun(pid: pid, spawnedAt: now)
            if notify || oneshot {
                state = .starting(run)
                return [.report(.spawned(pid: pid))]
            }
            run.readyAt = now
            state = .ready(run)
            return [.report(.spawned(pid: pid)), .report(.ready(sinceSpawn: .zero))]

        case (.spawnFailed(let reason), _):
            return [.report(.spawnFailed(reason))] + afterExit(.exited(code: 127), run: nil, hung: false, at: now)

        case (.message(.ready), .starting(var run)) where !oneshot:
            run.readyAt = now
            run.heartbeat = now
            state = .ready(run)
            return [.report(.ready(sinceSpawn: now - run.spawnedAt))]

        case (.message(.watchdog), .ready(var run)):
            run.heartbeat = now
            state = .ready(run)
            return []

        case (.message(.status(let text)), _):
            return [.report(.status(text))]

        case (.message(.version(let text)), .starting(var run)):
            run.version = text
            state = .starting(run)
            return []

        case (.message(.version(let text)), .ready(var run)):
            run.version = text
            state = .ready(run)
            return []

        case (.message, _):
            return []

        case (.exited(let status), .stopping(_, .requested, _, _)):
            state = .down(status)
            return [.report(.exited(status)), .report(.stopped)]

        case (.exited(let status), .stopping(let run, .hung, _, _)):
            return [.report(.exited(status))] + afterExit(status, run: run, hung: true, at: now)

        case (.exited(let status), .starting(let run)), (.exited(let status), .ready(let run)):
            return [.report(.exited(status))] + afterExit(status, run: run, hung: false, at: now)

        case (.exited, _):
            return []

        case (.stop, .starting(let run)), (.stop, .ready(let run)):
            restartsAllowed = false
            state = .stopping(run, .requested, killAt: now + timings.stopTimeout, killed: false)
            return [.signal(SIGTERM), .report(.stopping(signal: SIGTERM))]

        case (.stop, .stopping(let run, .hung, let killAt, let killed)):
            restartsAllowed = false
            state = .stopping(run, .requested, killAt: killAt, killed: killed)
            return []

        case (.stop, .backingOff):
            restartsAllowed = false
            state = .down(nil)
            return [.report(.stopped)]

        case (.stop, _):
            restartsAllowed = false
            return []

        case (.kill, _):
            restartsAllowed = false
            if case .backingOff = state {
                state = .down(nil)
                return [.report(.stopped)]
            }
            guard let run = state.run else { return [] }
            if case .stopping(_, _, _, true) = state {
                state = .stopping(run, .requested, killAt: now, killed: true)
                return []
            }
            state = .stopping(run, .requested, killAt: now, killed: true)
            return [.signal(SIGKILL), .report(.stopping(signal: SIGKILL))]

        case (.tick, _):
            return tick(at: now)

        case (.start, _):
            return []
        }
    }

    private mutating func tick(at now: ContinuousClock.Instant) -> [ChildAction] {
        guard let deadline = nextDeadline, now >= deadline else { return [] }
        switch state {
        case .starting(let run):
            let waited = GoDuration.format(timings.startTimeout)
            let reason = oneshot ? "did not finish within start-timeout \(waited)" : "no READY within start-timeout \(waited)"
            state = .stopping(run, .hung, killAt: now + timings.stopTimeout, killed: false)
            return [.report(.hung(heartbeatAge: nil, reason: reason)), .signal(SIGTERM), .report(.stopping(signal: SIGTERM))]
        case .ready(let run):
            let age = now - run.heartbeat
            state = .stopping(run, .hung, killAt: now + timings.stopTimeout, killed: false)
            let reason = "no WATCHDOG within heartbeat-timeout \(GoDuration.format(timings.heartbeatTimeout))"
            return [.report(.hung(heartbeatAge: age, reason: reason)), .signal(SIGTERM), .report(.stopping(signal: SIGTERM))]
        case .stopping(let run, let reason, let killAt, _):
            state = .stopping(run, reason, killAt: killAt, killed: true)
            return [.signal(SIGKILL), .report(.stopping(signal: SIGKILL))]
        case .backingOff:
            return [.spawn]
        case .idle, .down:
            return []
        }
    }

    /// After an exit the supervisor did not ask for: restart, stay down, or give up.
    private mutating func afterExit(_ status: ExitStatus, run: ChildRun?, hung: Bool, at now: ContinuousClock.Instant) -> [ChildAction] {
        if oneshot {
            state = .down(status)
            if status.isSuccess && !hung { return [] }
            let why = hung ? "did not finish in time" : "failed with \(status)"
            return restartsAllowed ? [.giveUp(reason: "one-shot process \(name) \(why)")] : []
        }
        let failed = hung || !status.isSuccess
        let restarts = restartsAllowed && (restart == .always || (restart == .onFailure && failed))
        guard restarts else {
            state = .down(status)
            return []
        }
        guard intensity.record(at: now) else {
            state = .down(status)
            let window = GoDuration.format(timings.restartWindow)
            return [.giveUp(reason: "\(name) needed more than \(timings.restartLimit) restarts within \(window)")]
        }
        let readyFor = run?.readyAt.map { now - $0 }
        let delay = backoff.nextDelay(readyFor: readyFor, jitter: jitter())
        self.restarts += 1
        state = .backingOff(until: now + delay)
        let report = ChildAction.report(.restarting(delay: delay, restarts: self.restarts))
        return delay == .zero ? [report, .spawn] : [report]
    }
}

extension ChildMachine {
    /// Everything a machine has learned, which an in-place upgrade carries to the next launcher.
    struct Saved: Sendable, Equatable {
        var state: ChildState
        var backoffFailures: Int
        var intensityTimes: [ContinuousClock.Instant]
        var restarts: Int
        var lastExit: ExitStatus?
        var restartsAllowed: Bool
    }

    var saved: Saved {
        Saved(state: state, backoffFailures: backoff.failures, intensityTimes: intensity.times, restarts: restarts, lastExit: lastExit, restartsAllowed: restartsAllowed)
    }

    /// The machine a previous launcher left, for the same spec.
    init(_ spec: ProcessSpec, restoring saved: Saved) {
        self.init(spec)
        state = saved.state
        backoff = RestartBackoff(spec.timings, failures: saved.backoffFailures)
        intensity = RestartIntensity(limit: spec.timings.restartLimit, window: spec.timings.restartWindow, times: saved.intensityTimes)
        restarts = saved.restarts
        lastExit = saved.lastExit
        restartsAllowed = saved.restartsAllowed
    }
}
