/// Where a launch as a whole is, from the first spawn to the last exit.
///
/// The supervisor's loop changes it on three events: every process ready at once (`starting` to
/// `running`), a stop request or a give-up (to `stopping`), and the last process gone (to `done`).
enum LaunchPhase {
    /// Processes are starting; they have not all been ready at once yet.
    case starting
    /// Every process has been ready at once: the launch said READY=1.
    case running
    /// Processes are stopping one at a time, in reverse start order.
    case stopping(ShutdownSequence)
    /// Nothing is left running.
    case done(SupervisorOutcome)

    /// Whether processes may still be started and restarted.
    var acceptsStarts: Bool {
        switch self {
        case .starting, .running: true
        case .stopping, .done: false
        }
    }

    /// Whether every process has been ready at once, as `satellite_supervisor_ready` says; false
    /// once done.
    var hasBeenReady: Bool {
        switch self {
        case .starting, .done: false
        case .running: true
        case .stopping(let sequence): sequence.wasReady
        }
    }

    /// The name the status document gives it.
    var name: String {
        switch self {
        case .starting, .running: "running"
        case .stopping: "stopping"
        case .done: "stopped"
        }
    }
}

/// The reverse-order stop: each process gets SIGTERM (then SIGKILL at its stop timeout), and the
/// next one only once the previous has exited, so a stop never takes longer than the sum of the
/// stop timeouts.
struct ShutdownSequence {
    /// What the launch ends with once every process is gone.
    var outcome: SupervisorOutcome
    /// Whether the launch had been ready before it began stopping.
    let wasReady: Bool
    /// Processes still to stop, next first.
    private(set) var queue: [Int]
    /// The process being stopped, whose exit the next one waits for.
    private(set) var current: Int?

    enum Step: Equatable {
        /// Stop this process now.
        case stop(Int)
        /// The current process is still alive.
        case wait
        /// Every process has been asked to stop.
        case finished
    }

    /// Stops `order`'s processes in reverse.
    init(outcome: SupervisorOutcome, wasReady: Bool, startedIn order: [Int]) {
        self.outcome = outcome
        self.wasReady = wasReady
        self.queue = order.reversed()
    }

    /// What to do next, given which processes are alive.
    mutating func next(isAlive: (Int) -> Bool) -> Step {
        if let current, isAlive(current) { return .wait }
        current = nil
        guard !queue.isEmpty else { return .finished }
        let next = queue.removeFirst()
        current = next
        return .stop(next)
    }

    /// Stops no more processes one by one: everything was killed at once.
    mutating func abandon() {
        queue.removeAll()
    }
}
