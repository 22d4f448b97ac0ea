import CSupport
import CSystemd
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The descriptors and buffers of one supervised process, kept across its restarts: the pipes
/// are made once, so a restart costs one posix_spawn and one pidfd.
final class ChildIO {
    let spec: ProcessSpec
    let command: SpawnCommand
    /// Read end, write end (the child's, at the notify descriptor).
    let notifyPipe: (read: Int32, write: Int32)?
    /// Read end, write end (the child's stdout and stderr); nil when output goes to our stderr.
    let outputPipe: (read: Int32, write: Int32)?
    let logFile: Int32
    /// A stream into the systemd journal that the child writes to directly; -1 when none.
    let journalStream: Int32
    /// Bytes in the current log file, for rotation.
    var logSize: Int64 = 0
    /// While writes to the log fail (a full disk): the errno of the first failure, and how many
    /// lines were dropped since. 0 and 0 while writes work.
    var logWriteError: Int32 = 0
    var droppedLines = 0
    /// Whether a failed write left part of a line in the file; the next write ends it first, so
    /// one lost line never spoils the next.
    var logLineCut = false
    var pidfd: Int32 = -1
    var notifyFramer = NotifyFramer()
    var outputFramer = OutputFramer()
    var malformedMessages = 0

    init(spec: ProcessSpec, trampoline: String, notifyDescriptor: Int32) throws(SupervisorSetupError) {
        self.spec = spec
        var opened: [Int32] = []
        do throws(SupervisorSetupError) {
            if spec.notify {
                let pipe = try Self.pipe()
                opened += [pipe.read, pipe.write]
                notifyPipe = pipe
            } else {
                notifyPipe = nil
            }
            var stream: Int32 = -1
            if let identifier = spec.journalIdentifier {
                stream = sd_journal_stream_fd(identifier, LOG_INFO, 0)
                if stream >= 0 {
                    _ = fcntl(stream, F_SETFD, FD_CLOEXEC)
                    opened.append(stream)
                }
            }
            journalStream = stream
            if stream >= 0 {
                logFile = -1
                outputPipe = nil
            } else if let path = spec.logPath {
                let file = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
                guard file >= 0 else { throw .logFile(process: spec.name, path: path, errno: errno) }
                opened.append(file)
                logFile = file
                var info = stat()
                if fstat(file, &info) == 0 { logSize = Int64(info.st_size) }
                outputPipe = try Self.pipe()
                logLineCut = Self.endsMidLine(file, size: logSize)
            } else {
                logFile = -1
                outputPipe = nil
            }
        } catch {
            for fd in opened { close(fd) }
            throw error
        }
        command = SpawnCommand(spec: spec, trampoline: trampoline, notifyDescriptor: spec.notify ? notifyDescriptor : nil)
    }

    /// Opens the log file's path afresh onto the same descriptor: after an outside rename
    /// (logrotate, then SIGHUP) or our own rotation, output goes to a new file. If the path cannot
    /// be opened (a read-only directory) output stays on the current file.
    /// - Returns: 0, or the errno of the failed open.
    @discardableResult
    func reopenLog() -> Int32 {
        guard let path = spec.logPath, logFile >= 0 else { return 0 }
        let fresh = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fresh >= 0 else { return errno }
        dup2(fresh, logFile)
        _ = fcntl(logFile, F_SETFD, FD_CLOEXEC)
        close(fresh)
        var info = stat()
        logSize = fstat(logFile, &info) == 0 ? Int64(info.st_size) : 0
        logLineCut = Self.endsMidLine(logFile, size: logSize)
        return 0
    }

    /// Whether the file's last byte is not a newline: a launcher killed while its last write was
    /// cut short (a full disk) left part of a line, which the next line must not run on from.
    /// (The file is opened read-write for this one read.)
    private static func endsMidLine(_ fd: Int32, size: Int64) -> Bool {
        guard size > 0 else { return false }
        var last: UInt8 = 0
        return pread(fd, &last, 1, off_t(size - 1)) == 1 && last != UInt8(ascii: "\n")
    }

    /// Renames NAME.log to NAME.log.1 (shifting the older ones up, dropping the oldest) and
    /// begins a new file. Called between whole lines, so no line is split or lost.
    ///
    /// When the directory refuses (read-only, immutable) output stays on the current file, which
    /// grows past its limit; the next try comes after another `logMaxSize` bytes, not on every line.
    /// - Returns: 0, or the errno of the step that failed.
    func rotateLog() -> Int32 {
        guard let path = spec.logPath else { return 0 }
        let keep = max(1, spec.logFiles)
        unlink("\(path).\(keep)")
        for generation in stride(from: keep - 1, through: 1, by: -1) {
            rename("\(path).\(generation)", "\(path).\(generation + 1)")
        }
        guard rename(path, "\(path).1") == 0 else {
            let failure = errno
            logSize = 0
            return failure
        }
        let failure = reopenLog()
        if failure != 0 { logSize = 0 }
        return failure
    }

    deinit {
        for fd in [notifyPipe?.read, notifyPipe?.write, outputPipe?.read, outputPipe?.write, logFile, journalStream, pidfd] {
            if let fd, fd >= 0 { close(fd) }
        }
    }

    /// A pipe whose read end (ours) does not block and whose write end (the child's) does, as
    /// programs expect of their standard output.
    private static func pipe() throws(SupervisorSetupError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard cs_pipe2(&fds, O_CLOEXEC) == 0 else { throw .system("pipe2", errno: errno) }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        return (fds[0], fds[1])
    }
}

/// The supervisor's thread: one epoll loop over every child's exit, notify and output
/// descriptors, the supervisor's mailbox and (when trapped) its signals.
final class SupervisorLoop: @unchecked Sendable {
    // Everything below is touched only by the loop's thread once `start` has handed it over.
    private enum Source: UInt64 {
        case wake = 1, signal, exit, notify, output, control, client, metrics, metricsClient
    }

    private enum Phase {
        case running
        case stopping(SupervisorOutcome)
        case done(SupervisorOutcome)
    }

    private let supervisor: Supervisor
    private let log: Logger
    private let poll: EventPoll
    private var machines: [ChildMachine]
    private let children: [ChildIO]
    private var signalPipe: (read: Int32, write: Int32)?
    private var phase = Phase.running
    private var startedSequence: [Int] = []
    private var stopQueue: [Int] = []
    private var stoppingIndex: Int?
    private var launchedAt = ContinuousClock.now
    private var allReadyReported = false
    private var nextWatchdog: ContinuousClock.Instant?
    private var lastStatus = ""
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var finish: (@Sendable (SupervisorOutcome) -> Void)?
    private var groupGuard: GroupGuard?
    private var control: ControlChannel?
    private var metricsEndpoint: MetricsEndpoint?
    /// Processes to start again once they are down (`restart` on the control socket).
    private var restartWhenDown: Set<Int> = []
    private static let trappedSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    init(supervisor: Supervisor) throws(SupervisorSetupError) {
        self.supervisor = supervisor
        let options = supervisor.options
        self.log = options.logger
        guard access(options.trampoline, X_OK) == 0 else {
            throw .invalid("the trampoline \(options.trampoline) is missing or not executable (build the satellite-exec product)")
        }
        poll = try EventPoll()
        machines = supervisor.specs.map { ChildMachine($0) }
        var children: [ChildIO] = []
        for spec in supervisor.specs {
            let child = try ChildIO(spec: spec, trampoline: options.trampoline, notifyDescriptor: options.notifyDescriptor)
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
        if let address = options.metricsAddress {
            let endpoint = try MetricsEndpoint(host: address.host, port: address.port)
            try poll.add(endpoint.listener, token: Self.token(.metrics, 0))
            metricsEndpoint = endpoint
            log.info("serving /metrics", metadata: ["address": .string("\(address.host):\(endpoint.port)")])
        }
        if options.trapsSignals {
            var fds: [Int32] = [0, 0]
            guard cs_pipe2(&fds, O_CLOEXEC | O_NONBLOCK) == 0 else { throw .system("pipe2", errno: errno) }
            signalPipe = (fds[0], fds[1])
            try poll.add(fds[0], token: Self.token(.signal, 0))
            guard cs_signal_pipe_install(fds[1], Self.trappedSignals, Int32(Self.trappedSignals.count)) == 0 else {
                throw .system("sigaction", errno: errno)
            }
        }
    }

    deinit {
        if let signalPipe {
            close(signalPipe.read)
            close(signalPipe.write)
        }
    }

    /// Runs the loop on a new thread; `finish` is called on it with the outcome.
    func start(_ finish: @escaping @Sendable (SupervisorOutcome) -> Void) {
        self.finish = finish
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            let loop = Unmanaged<SupervisorLoop>.fromOpaque(context!).takeRetainedValue()
            loop.runLoop()
            return nil
        }, context)
        if result == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<SupervisorLoop>.fromOpaque(context).release()
            finish(.gaveUp(reason: "cannot start the supervisor thread: \(String(cString: strerror(result)))"))
        }
    }

    private func runLoop() {
        if supervisor.options.guardsProcessGroups {
            groupGuard = GroupGuard(trampoline: supervisor.options.trampoline, log: log)
        }
        let outcome = loop()
        groupGuard?.finish()
        if signalPipe != nil {
            cs_signal_pipe_uninstall(Self.trappedSignals, Int32(Self.trappedSignals.count))
        }
        finish?(outcome)
        finish = nil
    }

    private func loop() -> SupervisorOutcome {
        launchedAt = .now
        if let interval = supervisor.options.watchdogInterval, supervisor.options.parentNotify != nil {
            nextWatchdog = launchedAt + interval
        }
        startEligible(at: launchedAt)
        publish()
        while true {
            if case .done(let outcome) = phase { return outcome }
            let deadline = (machines.compactMap(\.nextDeadline) + [nextWatchdog, control?.clients.nextDeadline, metricsEndpoint?.clients.nextDeadline].compactMap { $0 }).min()
            let readiness = poll.wait(timeout: deadline.map { max(.zero, $0 - .now) })
            let now = ContinuousClock.now
            for event in readiness {
                let index = Int(event.token & 0xFFFF_FFFF)
                switch Source(rawValue: event.token >> 32) {
                case .wake: for command in supervisor.takeCommands() { handle(command, at: now) }
                case .signal: readSignals(at: now)
                case .exit: reap(index, at: now)
                case .notify: readNotify(index, at: now, draining: false)
                case .output: readOutput(index, draining: false)
                case .control: acceptControl(at: now)
                case .client: serveControl(Int32(index), hangup: event.hangup, at: now)
                case .metrics: acceptMetrics(at: now)
                case .metricsClient: serveMetrics(Int32(index), at: now)
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
                if case .running = phase { apply(machines[index].handle(.start, at: now), to: index, at: now) }
            }
            closeSilentClients(at: now)
            advanceShutdown(at: now)
            publish()
            notifyStatusIfChanged()
        }
    }

    // MARK: Metrics

    private func acceptMetrics(at now: ContinuousClock.Instant) {
        guard let metricsEndpoint else { return }
        for fd in metricsEndpoint.accept(at: now) {
            if (try? poll.add(fd, token: Self.token(.metricsClient, Int(fd)))) == nil {
                metricsEndpoint.answer(fd, status: "503 Service Unavailable", body: "busy\n")
            }
        }
    }

    private func serveMetrics(_ fd: Int32, at now: ContinuousClock.Instant) {
        guard let metricsEndpoint, let request = metricsEndpoint.read(fd) else { return }
        poll.remove(fd)
        switch request {
        case let (method, path)? where method == "GET" && (path == "/metrics" || path.hasPrefix("/metrics?")):
            metricsEndpoint.answer(fd, status: "200 OK", body: metricsText(at: now))
        case let (method, _)? where method != "GET":
            metricsEndpoint.answer(fd, status: "405 Method Not Allowed", body: "only GET /metrics\n")
        case .some:
            metricsEndpoint.answer(fd, status: "404 Not Found", body: "only GET /metrics\n")
        case nil:
            metricsEndpoint.answer(fd, status: "400 Bad Request", body: "malformed request\n")
        }
    }

    /// Per process: up, restarts, heartbeat age, last exit; and whether everything is ready.
    private func metricsText(at now: ContinuousClock.Instant) -> String {
        func label(_ name: String) -> String { "{process=" + JSONText.string(name) + "}" }
        var lines = [
            "# HELP satellite_process_up Whether the process is running (1) or not (0).", "# TYPE satellite_process_up gauge",
        ]
        lines += machines.map { "satellite_process_up\(label($0.name)) \($0.isAlive ? 1 : 0)" }
        lines += ["# HELP satellite_process_restarts_total Restarts by the restart policy since launch.", "# TYPE satellite_process_restarts_total counter"]
        lines += machines.map { "satellite_process_restarts_total\(label($0.name)) \($0.restarts)" }
        lines += ["# HELP satellite_process_heartbeat_age_seconds Time since the last WATCHDOG=1 of a ready notify process.", "# TYPE satellite_process_heartbeat_age_seconds gauge"]
        for machine in machines {
            if machine.notify, case .ready(let run) = machine.state {
                lines.append("satellite_process_heartbeat_age_seconds\(label(machine.name)) \(Double((now - run.heartbeat).wholeMilliseconds) / 1000)")
            }
        }
        lines += ["# HELP satellite_process_last_exit_code The exit code of the last run, or -signal when a signal ended it.", "# TYPE satellite_process_last_exit_code gauge"]
        for machine in machines {
            switch machine.lastExit {
            case .exited(let code)?: lines.append("satellite_process_last_exit_code\(label(machine.name)) \(code)")
            case .signalled(let signal)?: lines.append("satellite_process_last_exit_code\(label(machine.name)) -\(signal)")
            case nil: break
            }
        }
        lines += ["# HELP satellite_supervisor_ready Whether every process has been ready since launch.", "# TYPE satellite_supervisor_ready gauge"]
        lines.append("satellite_supervisor_ready \(allReadyReported ? 1 : 0)")
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Control socket

    /// Answers and closes the connections whose request did not arrive in time.
    private func closeSilentClients(at now: ContinuousClock.Instant) {
        for fd in control?.clients.expired(at: now) ?? [] {
            poll.remove(fd)
            control?.answer(fd, JSONText.error("no request within \(ControlChannel.requestTimeout.components.seconds) s; send one line, as status"))
        }
        for fd in metricsEndpoint?.clients.expired(at: now) ?? [] {
            poll.remove(fd)
            metricsEndpoint?.answer(fd, status: "408 Request Timeout", body: "no request in time\n")
        }
    }

    private func acceptControl(at now: ContinuousClock.Instant) {
        guard let control else { return }
        for fd in control.accept(at: now) {
            do {
                try poll.add(fd, token: Self.token(.client, Int(fd)))
            } catch {
                control.answer(fd, JSONText.error("the launcher is too busy to listen"))
            }
        }
    }

    private func serveControl(_ fd: Int32, hangup: Bool, at now: ContinuousClock.Instant) {
        guard let control else { return }
        let answer: String
        switch control.read(fd, hangup: hangup) {
        case .waiting:
            return
        case .refused(let why):
            answer = JSONText.error(why)
        case .request(let line):
            do {
                answer = perform(try ControlRequest(line: line), at: now)
            } catch {
                answer = JSONText.error(error.message)
            }
        }
        poll.remove(fd)
        control.answer(fd, answer)
    }

    private func perform(_ request: ControlRequest, at now: ContinuousClock.Instant) -> String {
        switch request {
        case .status:
            return statusDocument(at: now)
        case .stop:
            requestStop(at: now)
            return JSONText.object([("ok", "true")])
        case .restart(let name):
            guard let index = machines.firstIndex(where: { $0.name == name }) else {
                return JSONText.error("no process is named \"\(name)\"; see satellite status")
            }
            return restart([index], at: now)
        case .restartTagged(let tag):
            let indexes = children.indices.filter { children[$0].spec.tags.contains(tag) }
            guard !indexes.isEmpty else { return JSONText.error("no process has the tag \"\(tag)\"") }
            return restart(indexes, at: now)
        case .logLevel(let level, let process):
            guard let change = supervisor.options.changeLogLevel else { return JSONText.error("this supervisor cannot change log levels") }
            var pid: Int32?
            if let process, process != "launcher" {
                guard let machine = machines.first(where: { $0.name == process }) else {
                    return JSONText.error("no process is named \"\(process)\"; see satellite status")
                }
                guard let run = machine.state.run else { return JSONText.error("process \"\(process)\" is not running") }
                pid = run.pid
            }
            if let problem = change(level, process, pid) { return JSONText.error(problem) }
            return JSONText.object([("ok", "true")])
        }
    }

    private func restart(_ indexes: [Int], at now: ContinuousClock.Instant) -> String {
        guard case .running = phase else { return JSONText.error("the launcher is stopping") }
        for index in indexes {
            log.info("restart requested", metadata: ["process": .string(machines[index].name)])
            restartWhenDown.insert(index)
            if machines[index].isAlive {
                apply(machines[index].handle(.stop, at: now), to: index, at: now)
            }
        }
        let names = indexes.map { JSONText.string(machines[$0].name) }.joined(separator: ",")
        return JSONText.object([("ok", "true"), ("restarting", "[\(names)]")])
    }

    /// The answer to `status`; its fields are documented in the README and stay stable.
    private func statusDocument(at now: ContinuousClock.Instant) -> String {
        var realtime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        let wallNow = Double(realtime.tv_sec) + Double(realtime.tv_nsec) / 1e9
        func wall(_ instant: ContinuousClock.Instant) -> String {
            JSONText.string(JSONText.time(secondsSinceEpoch: wallNow - Double((now - instant).wholeMilliseconds) / 1000))
        }
        let phaseName: String
        switch phase {
        case .running: phaseName = "running"
        case .stopping: phaseName = "stopping"
        case .done: phaseName = "stopped"
        }
        let processes = machines.indices.map { index -> String in
            let machine = machines[index]
            let run = machine.state.run
            var exitCode: String?
            var exitSignal: String?
            switch machine.lastExit {
            case .exited(let code)?: exitCode = String(code)
            case .signalled(let signal)?: exitSignal = JSONText.string(SignalName.of(signal))
            case nil: break
            }
            let heartbeatAge: String? = machine.notify && run?.readyAt != nil ? String((now - run!.heartbeat).wholeMilliseconds) : nil
            return JSONText.object([
                ("name", JSONText.string(machine.name)),
                ("pid", run.map { String($0.pid) }),
                ("state", JSONText.string(Self.stateName(machine.state))),
                ("ready_since", run?.readyAt.map(wall)),
                ("restarts", String(machine.restarts)),
                ("last_exit_code", exitCode),
                ("last_exit_signal", exitSignal),
                ("heartbeat_age_ms", heartbeatAge),
                ("tags", "[" + children[index].spec.tags.map(JSONText.string).joined(separator: ",") + "]"),
            ])
        }
        return JSONText.object([
            ("version", "1"),
            ("launcher", JSONText.object([("pid", String(getpid())), ("phase", JSONText.string(phaseName)), ("started_at", wall(launchedAt))])),
            ("processes", "[" + processes.joined(separator: ",") + "]"),
        ])
    }

    static func stateName(_ state: ChildState) -> String {
        switch state {
        case .idle: "waiting"
        case .starting: "starting"
        case .ready: "ready"
        case .stopping: "stopping"
        case .backingOff: "backing-off"
        case .down: "down"
        }
    }

    private func notifyParent(_ message: String) {
        supervisor.options.parentNotify?(message)
    }

    /// One line for operators: how many processes are ready, and which restarted.
    private var statusSummary: String {
        if case .stopping = phase { return "stopping" }
        let ready = machines.filter { machine in
            if case .ready = machine.state { return true }
            return machine.oneshot && machine.satisfiesDependants
        }.count
        let restarted = machines.filter { $0.restarts > 0 }.map { "\($0.name) restarted \($0.restarts) time\($0.restarts == 1 ? "" : "s")" }
        return (["\(ready)/\(machines.count) ready"] + restarted).joined(separator: "; ")
    }

    private func notifyStatusIfChanged() {
        guard supervisor.options.parentNotify != nil, allReadyReported else { return }
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
            guard case .running = phase, let index = machines.firstIndex(where: { $0.name == name }) else { return }
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
        guard let signalPipe else { return }
        var bytes = [UInt8](repeating: 0, count: 16)
        let count = read(signalPipe.read, &bytes, bytes.count)
        guard count > 0 else { return }
        for signal in bytes[..<count] {
            log.info("signal received", metadata: ["signal": "\(SignalName.of(Int32(signal)))"])
            if Int32(signal) == SIGHUP {
                // logrotate renamed the files: write to new ones from here on.
                for child in children {
                    let failure = child.reopenLog()
                    if failure != 0 {
                        log.warning("cannot reopen log; writing on to the file already open", metadata: [
                            "process": .string(child.spec.name), "path": .string(child.spec.logPath ?? ""), "error": .string(String(cString: strerror(failure))),
                        ])
                    }
                }
                supervisor.options.reopenLogs?()
            } else {
                requestStop(at: now)
            }
        }
    }

    /// The first stop request stops everything in reverse order; a second kills what is left.
    private func requestStop(at now: ContinuousClock.Instant) {
        if case .running = phase {
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
        readOutput(index, draining: true)
        writeLog(child.outputFramer.flush(), of: child)
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

    private func readNotify(_ index: Int, at now: ContinuousClock.Instant, draining: Bool) {
        let child = children[index]
        guard let pipe = child.notifyPipe else { return }
        repeat {
            let count = buffer.withUnsafeMutableBytes { read(pipe.read, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            let items = buffer.withUnsafeBytes { child.notifyFramer.feed($0[..<count]) }
            for item in items {
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
        } while draining
    }

    private func readOutput(_ index: Int, draining: Bool) {
        let child = children[index]
        guard let pipe = child.outputPipe else { return }
        repeat {
            let count = buffer.withUnsafeMutableBytes { read(pipe.read, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            let lines = buffer.withUnsafeBytes { child.outputFramer.feed(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            writeLog(lines, of: child)
        } while draining
    }

    /// Appends whole lines to the child's log, rotating between lines whenever the next ones would
    /// take the file past its size; a single line longer than that gets a file of its own.
    private func writeLog(_ bytes: [UInt8], of child: ChildIO) {
        guard !bytes.isEmpty, child.logFile >= 0 else { return }
        let limit = child.spec.logMaxSize
        var rest = bytes[...]
        while !rest.isEmpty {
            var piece = rest
            if limit > 0, child.logSize + Int64(rest.count) > limit {
                let room = Int(max(0, limit - child.logSize))
                if let end = rest.prefix(room).lastIndex(of: UInt8(ascii: "\n")) {
                    piece = rest[...end]
                } else if child.logSize > 0 {
                    rotate(child)
                    continue
                } else {
                    piece = rest[...(rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.index(before: rest.endIndex))]
                }
            }
            append(piece, to: child)
            rest = rest[piece.endIndex...]
            if limit > 0, child.logSize >= limit, !rest.isEmpty { rotate(child) }
        }
    }

    private func rotate(_ child: ChildIO) {
        let failure = child.rotateLog()
        guard failure != 0 else { return }
        log.warning("cannot rotate log; writing on to the file already open", metadata: [
            "process": .string(child.spec.name), "path": .string(child.spec.logPath ?? ""), "error": .string(String(cString: strerror(failure))),
        ])
    }

    /// Writes whole lines to the child's log. A write that fails (ENOSPC, EIO) drops what it could
    /// not write, once, with a warning; the next one that works says how many lines were lost.
    /// Supervision never waits on, nor stops for, a log it cannot write.
    private func append(_ lines: ArraySlice<UInt8>, to child: ChildIO) {
        var bytes = Array(lines)
        if child.logLineCut { bytes.insert(UInt8(ascii: "\n"), at: 0) }
        var written = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = Glibc.write(child.logFile, buffer.baseAddress! + written, buffer.count - written)
                if count >= 0 {
                    written += count
                } else if errno != EINTR {
                    failure = errno
                    return
                }
            }
        }
        child.logSize += Int64(written)
        if failure == 0 {
            child.logLineCut = false
            if child.logWriteError != 0 {
                log.notice("log writes work again", metadata: [
                    "process": .string(child.spec.name), "dropped_lines": "\(child.droppedLines)", "error_was": .string(String(cString: strerror(child.logWriteError))),
                ])
                child.logWriteError = 0
                child.droppedLines = 0
            }
            return
        }
        if child.logWriteError == 0 {
            log.warning("cannot write log; dropping lines until writes work again", metadata: [
                "process": .string(child.spec.name), "path": .string(child.spec.logPath ?? ""), "error": .string(String(cString: strerror(failure))),
            ])
            child.logWriteError = failure
        }
        child.droppedLines += bytes[written...].lazy.filter { $0 == UInt8(ascii: "\n") }.count
        if written > 0 { child.logLineCut = bytes[written - 1] != UInt8(ascii: "\n") }
    }

    // MARK: Actions

    private func apply(_ actions: [ChildAction], to index: Int, at now: ContinuousClock.Instant) {
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
                if case .running = phase { beginShutdown(.gaveUp(reason: reason), at: now) }
            }
        }
        if case .running = phase {
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
        if !allReadyReported, machines.allSatisfy(\.satisfiesDependants) {
            allReadyReported = true
            record(nil, .ready(sinceSpawn: now - launchedAt), at: now)
            lastStatus = statusSummary
            notifyParent("READY=1\nSTATUS=" + lastStatus)
        }
    }

    private func beginShutdown(_ outcome: SupervisorOutcome, at now: ContinuousClock.Instant) {
        phase = .stopping(outcome)
        lastStatus = "stopping"
        notifyParent("STOPPING=1\nSTATUS=stopping")
        log.info("shutting down", metadata: ["order": .array(startedSequence.reversed().map { .string(machines[$0].name) })])
        for index in machines.indices {
            apply(machines[index].holdRestarts(), to: index, at: now)
        }
        stopQueue = startedSequence.reversed()
        advanceShutdown(at: now)
    }

    /// Stops the next process in reverse start order once the previous one is gone.
    private func advanceShutdown(at now: ContinuousClock.Instant) {
        guard case .stopping(let outcome) = phase else { return }
        while true {
            if let current = stoppingIndex, machines[current].isAlive { return }
            stoppingIndex = nil
            guard !stopQueue.isEmpty else {
                if !machines.contains(where: \.isAlive) { phase = .done(outcome) }
                return
            }
            let next = stopQueue.removeFirst()
            apply(machines[next].handle(.stop, at: now), to: next, at: now)
            if machines[next].isAlive {
                stoppingIndex = next
                // The stop is making progress: give systemd this process's stop timeout more.
                let extra = machines[next].timings.stopTimeout + .seconds(1)
                notifyParent("EXTEND_TIMEOUT_USEC=\(extra.wholeMilliseconds * 1000)")
            }
        }
    }

    private func killAll(at now: ContinuousClock.Instant) {
        var outcome = SupervisorOutcome.forced
        if case .stopping(.gaveUp(let reason)) = phase { outcome = .gaveUp(reason: reason) }
        log.warning("killing every process now")
        if case .running = phase { notifyParent("STOPPING=1\nSTATUS=stopping") }
        phase = .stopping(outcome)
        stopQueue.removeAll()
        for index in machines.indices {
            apply(machines[index].handle(.kill, at: now), to: index, at: now)
        }
        advanceShutdown(at: now)
    }

    // MARK: Reporting

    private func record(_ index: Int?, _ event: SupervisorEvent, at now: ContinuousClock.Instant) {
        var metadata: Logger.Metadata = [:]
        var level = Logger.Level.info
        if let index {
            metadata["process"] = .string(machines[index].name)
            if let pid = machines[index].state.run?.pid { metadata["pid"] = "\(pid)" }
        }
        switch event {
        case .spawned(let pid):
            metadata["pid"] = "\(pid)"
        case .spawnFailed(let reason):
            level = .error
            metadata["error"] = .string(reason)
        case .ready(let sinceSpawn):
            metadata[index == nil ? "ms_since_launch" : "ms_since_spawn"] = "\(sinceSpawn.wholeMilliseconds)"
            if index == nil { metadata["processes"] = "\(machines.count)" }
        case .exited(let status):
            switch status {
            case .exited(let code): metadata["code"] = "\(code)"
            case .signalled(let signal): metadata["signal"] = .string(SignalName.of(signal))
            }
            if !status.isSuccess, case .running = phase { level = .warning }
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
        log.log(level: level, "\(event.message)", metadata: metadata)
        // Whoever hears of an event can already see the state it left behind.
        publish()
        supervisor.options.observer?(SupervisorRecord(process: index.map { machines[$0].name }, event: event, at: now))
    }

    private func publish() {
        supervisor.publish(machines.enumerated().map { index, machine in
            ProcessSnapshot(name: machine.name, tags: children[index].spec.tags, state: machine.state, restarts: machine.restarts)
        })
    }

    private static func token(_ source: Source, _ index: Int) -> UInt64 {
        source.rawValue << 32 | UInt64(index)
    }
}
