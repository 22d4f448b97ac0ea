import CSupport
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How a supervisor run ended.
public enum SupervisorOutcome: Sendable, Equatable {
    /// Stopped on request, every process in reverse start order: exit 0.
    case stopped
    /// A second stop request killed what was left: exit 1.
    case forced
    /// Supervision could not go on (a crash loop, a failed one-shot); everything was stopped: exit 1.
    case gaveUp(reason: String)
}

/// A process as the supervisor last saw it.
public struct ProcessSnapshot: Sendable, Equatable {
    public let name: String
    public let tags: [String]
    public let state: ChildState
    public let restarts: Int
}

/// Runs processes by their ``ProcessSpec``s: starts them in dependency order, watches their
/// exits and heartbeats, restarts them by policy, and stops them in reverse start order.
///
/// All supervision happens on one thread of its own that waits in epoll on every child's exit
/// (a pidfd), notify pipe and output pipe, so the supervisor uses no CPU at rest and reacts to
/// an exit at once. Children are spawned from that thread, which lives as long as the
/// supervisor, so their PR_SET_PDEATHSIG fires only when the supervisor dies.
public final class Supervisor: Sendable {
    public let specs: [ProcessSpec]
    public let options: SupervisorOptions
    let startOrder: StartOrder
    private let mailbox = Mutex<[Command]>([])
    private let wakeDescriptor: Int32
    private let snapshots: Mutex<[ProcessSnapshot]>
    private let stopWaiters = StopWaiters()
    /// The state a previous launcher handed over, when this one takes over its children.
    let handover: Handover?

    enum Command {
        case shutdown
        case kill
        case startProcess(String)
        case stopProcess(String)
        case killProcess(String)
    }


    /// - Throws: ``StartOrderError`` when names repeat, `after` names an unknown process, or
    ///   processes wait on each other in a cycle.
    public convenience init(specs: [ProcessSpec], options: SupervisorOptions) throws {
        try self.init(specs: specs, options: options, handover: nil)
    }

    /// A supervisor that takes over the children, descriptors and state a previous launcher of
    /// this process handed over before executing this program (an in-place upgrade).
    /// - Throws: ``StartOrderError`` when the handed-over specs are inconsistent.
    public convenience init(resuming handover: Handover, options: SupervisorOptions) throws {
        try self.init(specs: handover.plan.specs, options: options, handover: handover)
    }

    private init(specs: [ProcessSpec], options: SupervisorOptions, handover: Handover?) throws {
        self.startOrder = try StartOrder(specs)
        self.specs = specs
        self.options = options
        self.handover = handover
        self.wakeDescriptor = cs_eventfd()
        self.snapshots = Mutex(specs.map { ProcessSnapshot(name: $0.name, tags: $0.tags, state: .idle, restarts: 0) })
        guard wakeDescriptor >= 0 else { throw SupervisorSetupError.system("eventfd", errno: errno) }
    }

    deinit {
        close(wakeDescriptor)
    }

    /// Starts every process and supervises them until they are all stopped.
    ///
    /// Returns after ``shutdown()``, a trapped signal, or giving up, once no child is left.
    /// Cancelling the calling task is the same as ``shutdown()``.
    /// - Throws: ``SupervisorSetupError`` when the supervisor could not set itself up (a log
    ///   file cannot be opened, the guard program is missing); no process was started.
    public func run() async throws -> SupervisorOutcome {
        let loop = try SupervisorLoop(supervisor: self)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<SupervisorOutcome, Never>) in
                loop.start { outcome in continuation.resume(returning: outcome) }
            }
        } onCancel: {
            shutdown()
        }
    }

    /// Supervises on the calling thread until every process is stopped, as ``run()`` does on a
    /// thread of its own. A program's main thread calls this to be able to upgrade in place
    /// (``SupervisorOptions/upgradeExecutable``): the kernel keeps a child's parent-death signal
    /// tied to the thread that spawned it, and an exec ends every thread but the main one.
    /// Blocks; ``shutdown()`` from another thread, or a trapped signal, ends it.
    /// - Throws: ``SupervisorSetupError`` as ``run()`` does.
    public func runOnThisThread() throws -> SupervisorOutcome {
        try SupervisorLoop(supervisor: self).runHere()
    }

    /// Begins a graceful stop in reverse start order; a second call kills what is left. Returns
    /// at once.
    public func shutdown() {
        post(.shutdown)
    }

    /// Kills every process's group with SIGKILL at once. Returns at once.
    public func kill() {
        post(.kill)
    }

    /// Every process as of the supervisor's last step.
    public func snapshot() -> [ProcessSnapshot] {
        snapshots.withLock { $0 }
    }

    /// Starts one process that is down (stopped, or not restarted by its policy). Returns at once;
    /// ignored while the supervisor shuts down.
    public func start(process name: String) {
        post(.startProcess(name))
    }

    /// Stops one process for good: SIGTERM to its group, SIGKILL after its stop timeout. Returns
    /// at once; ``waitUntilStopped(process:timeout:)`` waits.
    public func stop(process name: String) {
        post(.stopProcess(name))
    }

    /// Kills one process's group with SIGKILL; it stays down. Returns at once.
    public func kill(process name: String) {
        post(.killProcess(name))
    }

    /// Whether the process is running (or being stopped).
    public func isAlive(process name: String) -> Bool {
        snapshots.withLock { $0.first { $0.name == name }?.state.run != nil }
    }

    /// Waits until the process is not running, for at most `timeout`; true if it stopped.
    /// Cancellation ends the wait early with the answer at that moment.
    public func waitUntilStopped(process name: String, timeout: Duration) async -> Bool {
        await stopWaiters.wait(for: name, timeout: timeout) { !self.isAlive(process: name) }
    }

    private func post(_ command: Command) {
        mailbox.withLock { $0.append(command) }
        _ = cs_eventfd_signal(wakeDescriptor)
    }

    func takeCommands() -> [Command] {
        _ = cs_eventfd_drain(wakeDescriptor)
        return mailbox.withLock { commands in
            defer { commands.removeAll() }
            return commands
        }
    }

    var wake: Int32 { wakeDescriptor }

    func publish(_ snapshot: [ProcessSnapshot]) {
        snapshots.withLock { $0 = snapshot }
        stopWaiters.stopped(Set(snapshot.filter { $0.state.run == nil }.map(\.name)))
    }

    /// One process's snapshot, at its place in the spec order: an event's record touches only
    /// its own process, and a whole snapshot per event made a start of N children cost N².
    func publish(_ snapshot: ProcessSnapshot, at index: Int) {
        snapshots.withLock { if $0.indices.contains(index) { $0[index] = snapshot } }
        if snapshot.state.run == nil { stopWaiters.stopped([snapshot.name]) }
    }
}
