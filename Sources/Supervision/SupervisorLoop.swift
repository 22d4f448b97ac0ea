import CSupport
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's thread: one epoll loop over every child's exit, notify and output
/// descriptors, the supervisor's mailbox and (when trapped) its signals.
final class SupervisorLoop: @unchecked Sendable {
    // Everything below is touched only by the loop's thread once `start` has handed it over.
    // The control and metrics clients are served in SupervisorLoop+Clients.swift, which is why
    // some of this state is not private.
    enum Source: UInt64 {
        case wake = 1, signal, exit, notify, output, control, client, debug, debugClient, probe, probeOutput
    }

    let supervisor: Supervisor
    let log: Logger
    let poll: EventPoll
    var machines: [ChildMachine]
    let children: [ChildIO]
    private var signals: SignalPipe?
    var phase = LaunchPhase.starting
    /// Processes in the order they first started: shutdown walks it backwards.
    var startedSequence: [Int] = []
    var launchedAt = ContinuousClock.now
    private var nextWatchdog: ContinuousClock.Instant?
    var lastStatus = ""
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var finish: (@Sendable (SupervisorOutcome) -> Void)?
    var groupGuard: GroupGuard?
    var control: ControlChannel?
    var debugEndpoint: DebugEndpoint?
    /// What the operator page's forms carry and `/restart` asks for: 128 random bits, new with
    /// every launcher, never logged.
    let actionToken = SupervisorLoop.randomToken()
    /// Processes to start again once they are down (`restart` on the control socket).
    var restartWhenDown: Set<Int> = []
    /// Entries whose instances are being replaced one at a time (`restart NAME`).
    var rolls: [RollingRestart] = []
    /// The new launcher program being tried before an in-place upgrade, if one is.
    var upgrade: UpgradeProbe?
    /// Whether this loop took over from a previous launcher, which already launched.
    private let resumed: Bool

    init(supervisor: Supervisor) throws(SupervisorSetupError) {
        self.supervisor = supervisor
        let options = supervisor.options
        self.log = options.logger
        guard !options.guardsProcessGroups || access(options.guardProgram, X_OK) == 0 else {
            throw .invalid("the process-group guard \(options.guardProgram) is missing or not executable (build the satellite-exec product)")
        }
        poll = try EventPoll()
        if let handover = supervisor.handover {
            resumed = true
            // Nothing handed over may reach a child spawned from here on.
            for fd in handover.descriptors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            machines = zip(supervisor.specs, handover.children).map { ChildMachine($0, restoring: $1.machine) }
            children = zip(supervisor.specs, handover.children).map {
                ChildIO(spec: $0, notifyDescriptor: options.notifyDescriptor, handed: $1, log: options.logger)
            }
            let launcher = handover.launcher
            phase = .running
            launchedAt = launcher.launchedAt
            startedSequence = launcher.startedSequence
            restartWhenDown = Set(launcher.restartWhenDown)
            if launcher.guardPid > 0 {
                groupGuard = GroupGuard(resuming: launcher.guardPid, pidfd: launcher.guardPidfd, channel: launcher.guardChannel)
            }
            if let path = options.controlSocket, launcher.controlListener >= 0 {
                control = ControlChannel(path: path, resuming: launcher.controlListener)
            }
            if launcher.debugListener >= 0 { debugEndpoint = DebugEndpoint(resuming: launcher.debugListener) }
            try watch(resuming: handover)
            return
        }
        resumed = false
        machines = supervisor.specs.map { ChildMachine($0) }
        var children: [ChildIO] = []
        for spec in supervisor.specs {
            let child = try ChildIO(spec: spec, notifyDescriptor: options.notifyDescriptor, log: log)
            if spec.journalIdentifier != nil, child.journalStream < 0 {
                log.warning("the journal cannot be reached; logging to a file", metadata: ["process": .string(spec.name), "path": .string(spec.logPath ?? "standard error")])
            }
            children.append(child)
        }
        self.children = children
        try poll.add(supervisor.wake, token: Self.token(.wake, 0))
        for (index, child) in children.enumerated() {
            if let pipe = child.notifyPipe { try poll.add(pipe.read, token: Self.token(.notify, index)) }
            if let pipe = child.outputPipe { try poll.add(pipe.read, token: Self.token(.output, index)) }
        }
        if let path = options.controlSocket {
            let channel = try ControlChannel(path: path)
            try poll.add(channel.listener, token: Self.token(.control, 0))
            control = channel
        }
        if let address = options.debugAddress {
            let endpoint = try DebugEndpoint(host: address.host, port: address.port)
            try poll.add(endpoint.listener, token: Self.token(.debug, 0))
            debugEndpoint = endpoint
            log.info("serving the operator page, /status and /metrics", metadata: [
                "address": .string("\(address.host):\(endpoint.port)"), "read_only": .stringConvertible(options.debugReadOnly),
            ])
        }
        if options.trapsSignals {
            let signals = try SignalPipe()
            try poll.add(signals.readEnd, token: Self.token(.signal, 0))
            try signals.install()
            self.signals = signals
        }
    }

    /// Adds everything a handed-over launcher watches to the poll, and answers the control
    /// connections that asked for the upgrade.
    private func watch(resuming handover: Handover) throws(SupervisorSetupError) {
        try poll.add(supervisor.wake, token: Self.token(.wake, 0))
        for (index, child) in children.enumerated() {
            if child.pidfd >= 0 { try poll.add(child.pidfd, token: Self.token(.exit, index)) }
            if let pipe = child.notifyPipe { try poll.add(pipe.read, token: Self.token(.notify, index)) }
            if let pipe = child.outputPipe { try poll.add(pipe.read, token: Self.token(.output, index)) }
        }
        if let control { try poll.add(control.listener, token: Self.token(.control, 0)) }
        if let debugEndpoint { try poll.add(debugEndpoint.listener, token: Self.token(.debug, 0)) }
        if supervisor.options.trapsSignals {
            let signals = try SignalPipe()
            try poll.add(signals.readEnd, token: Self.token(.signal, 0))
            try signals.install()
            self.signals = signals
        }
        let version = supervisor.options.version ?? "unknown"
        log.info("took over from the previous launcher", metadata: [
            "previous_version": .string(handover.previousVersion), "version": .string(version),
            "processes": .stringConvertible(machines.filter(\.isAlive).count),
        ])
        let answer = JSONText.object([
            ("ok", "true"), ("pid", String(getpid())), ("version", JSONText.string(version)), ("previous_version", JSONText.string(handover.previousVersion)),
        ])
        for fd in handover.launcher.requesters { ControlChannel.answer(fd, answer) }
    }

    /// Runs the loop on a new thread; `finish` is called on it with the outcome.
    func start(_ finish: @escaping @Sendable (SupervisorOutcome) -> Void) {
        self.finish = finish
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            let loop = Unmanaged<SupervisorLoop>.fromOpaque(context!).takeRetainedValue()
            let outcome = loop.runLoop()
            loop.finish?(outcome)
            loop.finish = nil
            return nil
        }, context)
        if result == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<SupervisorLoop>.fromOpaque(context).release()
            finish(.gaveUp(reason: "cannot start the supervisor thread: \(String(cString: strerror(result)))"))
        }
    }

    /// Runs the loop on the calling thread until every process is stopped.
    func runHere() -> SupervisorOutcome {
        runLoop()
    }

    private func runLoop() -> SupervisorOutcome {
        if signals != nil {
            // This thread may have been started with them blocked: a program executed from a
            // thread of Swift's pool inherits its mask, and a previous launcher blocks them before
            // handing over so that none ends this process before its handlers are in place.
            // What arrived meanwhile is delivered now.
            SignalPipe.unblock()
        }
        if supervisor.options.guardsProcessGroups, !resumed {
            groupGuard = GroupGuard(program: supervisor.options.guardProgram, log: log)
        }
        let outcome = loop()
        groupGuard?.finish()
        signals?.uninstall()
        return outcome
    }

    private func loop() -> SupervisorOutcome {
        if resumed {
            lastStatus = statusSummary
            notifyParent("READY=1\nSTATUS=" + lastStatus)
        } else {
            launchedAt = .now
        }
        if let interval = supervisor.options.watchdogInterval, supervisor.options.parentNotify != nil {
            nextWatchdog = launchedAt + interval
        }
        startEligible(at: launchedAt)
        publish()
        while true {
            if case .done(let outcome) = phase { return outcome }
            let deadline = (machines.compactMap(\.nextDeadline) + [nextWatchdog, control?.clients.nextDeadline, debugEndpoint?.clients.nextDeadline, upgrade?.deadline].compactMap { $0 }).min()
            let readiness = poll.wait(timeout: deadline.map { max(.zero, $0 - .now) })
            let now = ContinuousClock.now
            for event in readiness {
                let index = Int(event.token & 0xFFFF_FFFF)
                switch Source(rawValue: event.token >> 32) {
                case .wake: for command in supervisor.takeCommands() { handle(command, at: now) }
                case .signal: readSignals(at: now)
                case .exit: reap(index, at: now)
                case .notify: readNotify(index, at: now, draining: false)
                case .output: children[index].readOutput(into: &buffer, draining: false)
                case .control: acceptControl(at: now)
                case .client: serveControl(Int32(index), hangup: event.hangup, at: now)
                case .debug: acceptDebug(at: now)
                case .debugClient: serveDebug(Int32(index), at: now)
                case .probe: probeExited(at: now)
                case .probeOutput: upgrade?.readOutput()
                case nil: break
                }
            }
            for index in machines.indices {
                if let due = machines[index].nextDeadline, due <= now {
                    apply(machines[index].handle(.tick, at: now), to: index, at: now)
                }
            }
            if let due = nextWatchdog, due <= now, let interval = supervisor.options.watchdogInterval {
                notifyParent("WATCHDOG=1")
                nextWatchdog = now + interval
            }
            for index in restartWhenDown where !machines[index].isAlive {
                restartWhenDown.remove(index)
                if phase.acceptsStarts { apply(machines[index].handle(.start, at: now), to: index, at: now) }
            }
            advanceRolls(at: now)
            closeSilentClients(at: now)
            if let probe = upgrade, probe.deadline <= now { probeTimedOut(at: now) }
            advanceShutdown(at: now)
            publish()
            notifyStatusIfChanged()
        }
    }

    // MARK: Telling systemd

    func notifyParent(_ message: String) {
        supervisor.options.parentNotify?(message)
    }

    var statusSummary: String { StatusDocument.summary(machines: machines, phase: phase) }

    private func notifyStatusIfChanged() {
        guard supervisor.options.parentNotify != nil, phase.hasBeenReady else { return }
        let status = statusSummary
        guard status != lastStatus else { return }
        lastStatus = status
        notifyParent("STATUS=" + status)
    }

    // MARK: Events

    private func handle(_ command: Supervisor.Command, at now: ContinuousClock.Instant) {
        switch command {
        case .shutdown: requestStop(at: now)
        case .kill: killAll(at: now)
        case .startProcess(let name):
            guard phase.acceptsStarts, let index = machines.firstIndex(where: { $0.name == name }) else { return }
            apply(machines[index].handle(.start, at: now), to: index, at: now)
        case .stopProcess(let name):
            guard let index = machines.firstIndex(where: { $0.name == name }) else { return }
            apply(machines[index].handle(.stop, at: now), to: index, at: now)
        case .killProcess(let name):
            guard let index = machines.firstIndex(where: { $0.name == name }) else { return }
            apply(machines[index].handle(.kill, at: now), to: index, at: now)
        }
    }

    private func readSignals(at now: ContinuousClock.Instant) {
        for signal in signals?.take() ?? [] {
            log.info("signal received", metadata: ["signal": "\(SignalName.of(signal))"])
            if signal == SIGHUP {
                // logrotate renamed the files: write to new ones from here on.
                for child in children { child.log?.reopenAfterRename() }
                supervisor.options.reopenLogs?()
            } else if signal == SIGUSR2 {
                if let refusal = beginUpgrade(requester: nil, at: now) {
                    log.error("upgrade refused", metadata: ["reason": .string(refusal)])
                }
            } else {
                requestStop(at: now)
            }
        }
    }

    /// The first stop request stops everything in reverse order; a second kills what is left.
    func requestStop(at now: ContinuousClock.Instant) {
        if phase.acceptsStarts {
            beginShutdown(.stopped, at: now)
        } else {
            killAll(at: now)
        }
    }

    private func reap(_ index: Int, at now: ContinuousClock.Instant) {
        let child = children[index]
        guard child.pidfd >= 0, let run = machines[index].state.run else { return }
        // What the child wrote before it died comes before its exit, in the log and in the
        // state: a READY sent just before a crash still counts.
        readNotify(index, at: now, draining: true)
        child.readOutput(into: &buffer, draining: true)
        child.log?.write(child.outputFramer.flush())
        child.notifyFramer.reset()
        // While the exited leader is a zombie its pid cannot be reused, so this reaches only
        // what it left behind in its group.
        _ = cs_signal_group(run.pid, SIGKILL)
        groupGuard?.reaped(run.pid)
        var code: Int32 = -1
        var signal: Int32 = -1
        guard cs_pidfd_reap(child.pidfd, &code, &signal) == 1 else { return }
        poll.remove(child.pidfd)
        close(child.pidfd)
        child.pidfd = -1
        let status: ExitStatus = code >= 0 ? .exited(code: code) : .signalled(signal)
        apply(machines[index].handle(.exited(status), at: now), to: index, at: now)
    }

    func readNotify(_ index: Int, at now: ContinuousClock.Instant, draining: Bool) {
        let child = children[index]
        for item in child.readNotify(into: &buffer, draining: draining) {
            switch item {
            case .message(let message):
                apply(machines[index].handle(.message(message), at: now), to: index, at: now)
            case .malformed(let sample):
                child.malformedMessages += 1
                let count = child.malformedMessages
                // Log the first and then at each power of two, so a flood cannot flood the log.
                if count & (count - 1) == 0 {
                    record(index, .malformedMessage(sample: sample, count: count), at: now)
                }
            }
        }
    }

    // MARK: Actions

    func apply(_ actions: [ChildAction], to index: Int, at now: ContinuousClock.Instant) {
        for action in actions {
            switch action {
            case .spawn:
                spawn(index, at: now)
            case .signal(let signal):
                if let pid = machines[index].state.run?.pid { _ = cs_signal_group(pid, signal) }
            case .report(let event):
                record(index, event, at: now)
            case .giveUp(let reason):
                record(index, .givingUp(reason: reason), at: now)
                if phase.acceptsStarts { beginShutdown(.gaveUp(reason: reason), at: now) }
            }
        }
        if phase.acceptsStarts {
            startEligible(at: now)
        }
    }

    private func spawn(_ index: Int, at now: ContinuousClock.Instant) {
        let child = children[index]
        let output = child.journalStream >= 0 ? child.journalStream : (child.outputPipe?.write ?? 2)
        switch child.command.spawn(output: output, notify: child.notifyPipe?.write, notifyTarget: supervisor.options.notifyDescriptor) {
        case .success(let pid):
            let pidfd = cs_pidfd_open(pid)
            guard pidfd >= 0 else {
                // Cannot happen for our own unreaped child; without a pidfd it could not be watched.
                _ = cs_signal_group(pid, SIGKILL)
                apply(machines[index].handle(.spawnFailed("pidfd_open(\(pid)): \(String(cString: strerror(errno)))"), at: now), to: index, at: now)
                return
            }
            child.pidfd = pidfd
            groupGuard?.spawned(pid)
            do {
                try poll.add(pidfd, token: Self.token(.exit, index))
            } catch {
                log.error("\(error)")
            }
            if !startedSequence.contains(index) { startedSequence.append(index) }
            apply(machines[index].handle(.spawned(pid: pid), at: now), to: index, at: now)
        case .failure(let error):
            apply(machines[index].handle(.spawnFailed(error.description), at: now), to: index, at: now)
        }
    }

    /// Starts every process that has not started and whose dependencies are satisfied, in start
    /// order; reports once when every process is ready.
    private func startEligible(at now: ContinuousClock.Instant) {
        for index in supervisor.startOrder.order {
            guard case .idle = machines[index].state else { continue }
            guard supervisor.startOrder.dependencies[index].allSatisfy({ machines[$0].satisfiesDependants }) else { continue }
            apply(machines[index].handle(.start, at: now), to: index, at: now)
        }
        if case .starting = phase, machines.allSatisfy(\.satisfiesDependants) {
            phase = .running
            record(nil, .ready(sinceSpawn: now - launchedAt), at: now)
            lastStatus = statusSummary
            notifyParent("READY=1\nSTATUS=" + lastStatus)
        }
    }

    private func beginShutdown(_ outcome: SupervisorOutcome, at now: ContinuousClock.Instant) {
        phase = .stopping(ShutdownSequence(outcome: outcome, wasReady: phase.hasBeenReady, startedIn: startedSequence))
        lastStatus = "stopping"
        notifyParent("STOPPING=1\nSTATUS=stopping")
        log.info("shutting down", metadata: ["order": .array(startedSequence.reversed().map { .string(machines[$0].name) })])
        for index in machines.indices {
            apply(machines[index].holdRestarts(), to: index, at: now)
        }
        advanceShutdown(at: now)
    }

    /// Stops the next process in reverse start order once the previous one is gone.
    private func advanceShutdown(at now: ContinuousClock.Instant) {
        guard case .stopping(var sequence) = phase else { return }
        defer { if case .stopping = phase { phase = .stopping(sequence) } }
        while true {
            switch sequence.next(isAlive: { machines[$0].isAlive }) {
            case .wait:
                return
            case .finished:
                if !machines.contains(where: \.isAlive) { phase = .done(sequence.outcome) }
                return
            case .stop(let next):
                apply(machines[next].handle(.stop, at: now), to: next, at: now)
                if machines[next].isAlive {
                    // The stop is making progress: give systemd this process's stop timeout more.
                    let extra = machines[next].timings.stopTimeout + .seconds(1)
                    notifyParent("EXTEND_TIMEOUT_USEC=\(extra.wholeMilliseconds * 1000)")
                }
            }
        }
    }

    private func killAll(at now: ContinuousClock.Instant) {
        log.warning("killing every process now")
        var sequence: ShutdownSequence
        if case .stopping(let stopping) = phase {
            sequence = stopping
            // Killed by a second request: forced, unless the launch had already given up.
            if case .gaveUp = sequence.outcome {} else { sequence.outcome = .forced }
        } else {
            notifyParent("STOPPING=1\nSTATUS=stopping")
            sequence = ShutdownSequence(outcome: .forced, wasReady: phase.hasBeenReady, startedIn: [])
        }
        sequence.abandon()
        phase = .stopping(sequence)
        for index in machines.indices {
            apply(machines[index].handle(.kill, at: now), to: index, at: now)
        }
        advanceShutdown(at: now)
    }

    // MARK: Reporting

    func record(_ index: Int?, _ event: SupervisorEvent, at now: ContinuousClock.Instant) {
        let process = index.map { (name: machines[$0].name, pid: machines[$0].state.run?.pid) }
        let (level, metadata) = event.logLine(process: process, processCount: machines.count, stopping: !phase.acceptsStarts)
        log.log(level: level, "\(event.message)", metadata: metadata)
        // Whoever hears of an event can already see the state it left behind.
        if let index { publish(index) } else { publish() }
        supervisor.options.observer?(SupervisorRecord(process: process?.name, event: event, at: now))
    }

    func publish() {
        supervisor.publish(machines.indices.map(snapshot))
    }

    func publish(_ index: Int) {
        supervisor.publish(snapshot(index), at: index)
    }

    private func snapshot(_ index: Int) -> ProcessSnapshot {
        ProcessSnapshot(name: machines[index].name, tags: children[index].spec.tags, state: machines[index].state, restarts: machines[index].restarts)
    }

    static func token(_ source: Source, _ index: Int) -> UInt64 {
        source.rawValue << 32 | UInt64(index)
    }
}
