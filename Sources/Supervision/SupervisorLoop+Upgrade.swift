import CSupport
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The in-place upgrade: the launcher executes the launcher program now on disk in its own
/// process, which keeps its pid and its children, and hands it its state.
///
/// An exec cannot be undone, so the new program is tried first: it runs as a child with the
/// state in hand (`--probe-fd`), reads it and answers `ready VERSION`. Only then does this
/// launcher clear close-on-exec on what it hands over and execute it. A program that fails the
/// trial leaves this launcher running, and the requester is told why.
extension SupervisorLoop {
    /// How long the new program has to read the state and answer.
    static let probeTimeout = Duration.seconds(10)

    /// Begins an upgrade asked for on the control socket (`requester` waits for the answer) or
    /// by SIGUSR2. Returns why it cannot begin, or nil.
    func beginUpgrade(requester: Int32?, at now: ContinuousClock.Instant) -> String? {
        guard let executable = supervisor.options.upgradeExecutable else {
            return "this supervisor cannot upgrade in place (the launcher of `satellite run` can)"
        }
        guard cs_is_main_thread() == 1 else {
            return "the supervision loop is not on its process's main thread, whose children alone survive an exec"
        }
        switch phase {
        case .starting: return "the launch has not finished starting; upgrade once every process is ready"
        case .stopping, .done: return "the launcher is stopping"
        case .running: break
        }
        if let upgrade {
            if let requester { upgrade.requesters.append(requester) }
            return nil
        }
        if let roll = rolls.first {
            return "the instances of \(roll.name) are being replaced one at a time; upgrade when that ends"
        }
        let state = handover(requesters: []).encoded()
        let memory = cs_memfd_inheritable("satellite-handover")
        guard memory >= 0 else { return "memfd_create: \(String(cString: strerror(errno)))" }
        defer { close(memory) }
        guard state.withUnsafeBytes({ write(memory, $0.baseAddress, $0.count) }) == state.count, lseek(memory, 0, SEEK_SET) == 0 else {
            return "cannot write the state for the new launcher: \(String(cString: strerror(errno)))"
        }
        var fds: [Int32] = [0, 0]
        guard cs_pipe2(&fds, O_CLOEXEC) == 0 else { return "pipe2: \(String(cString: strerror(errno)))" }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(executable), strdup("--probe-fd"), strdup("4"), nil]
        defer { for pointer in argv { free(pointer) } }
        let envp: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        let result = argv.withUnsafeBufferPointer { argv in
            envp.withUnsafeBufferPointer { envp in
                cs_spawn_extra(&pid, executable, argv.baseAddress, envp.baseAddress, fds[1], -1, 3, memory, 4)
            }
        }
        close(fds[1])
        guard result == 0 else {
            close(fds[0])
            return "cannot start \(executable): \(String(cString: strerror(result)))"
        }
        // Should this launcher die now, the guard takes the trial with the children.
        groupGuard?.spawned(pid)
        let pidfd = cs_pidfd_open(pid)
        let probe = UpgradeProbe(executable: executable, pid: pid, pidfd: pidfd, output: fds[0], deadline: now + Self.probeTimeout)
        if let requester { probe.requesters.append(requester) }
        do {
            guard pidfd >= 0 else { throw SupervisorSetupError.system("pidfd_open", errno: errno) }
            try poll.add(pidfd, token: Self.token(.probe, 0))
            try poll.add(fds[0], token: Self.token(.probeOutput, 0))
        } catch {
            _ = cs_signal_group(pid, SIGKILL)
            probe.reap(waiting: .seconds(1))
            groupGuard?.reaped(pid)
            return "cannot watch the trial of \(executable): \(error)"
        }
        upgrade = probe
        log.info("upgrade: trying the new launcher", metadata: ["executable": .string(executable), "trial_pid": .stringConvertible(pid)])
        return nil
    }

    /// The trial ended: execute the new program if it answered ready, else refuse.
    func probeExited(at now: ContinuousClock.Instant) {
        guard let probe = upgrade else { return }
        endProbe(probe)
        let answer = probe.answer
        guard case .exited(code: 0) = probe.status, answer.hasPrefix("ready ") else {
            let how = probe.status.map { "\($0)" } ?? "no exit status"
            let said = answer.isEmpty ? "" : ": " + answer
            refuseUpgrade(probe.requesters, "the new launcher \(probe.executable) failed its trial (\(how))\(said)")
            return
        }
        handOver(probe.requesters, newVersion: String(answer.dropFirst("ready ".count)), executable: probe.executable)
    }

    /// The trial did not answer in time: it is killed, and the upgrade refused.
    func probeTimedOut(at now: ContinuousClock.Instant) {
        guard let probe = upgrade else { return }
        _ = cs_signal_group(probe.pid, SIGKILL)
        endProbe(probe)
        refuseUpgrade(probe.requesters, "the new launcher \(probe.executable) did not answer within \(Self.probeTimeout.components.seconds) s")
    }

    /// Reads what the trial said, reaps it (waiting a moment for one just killed) and forgets it.
    private func endProbe(_ probe: UpgradeProbe) {
        probe.readOutput()
        probe.reap(waiting: .seconds(1))
        poll.remove(probe.pidfd)
        poll.remove(probe.output)
        groupGuard?.reaped(probe.pid)
        upgrade = nil
    }

    private func refuseUpgrade(_ requesters: [Int32], _ reason: String) {
        log.error("upgrade refused; this launcher goes on", metadata: ["reason": .string(reason)])
        for fd in requesters { ControlChannel.answer(fd, JSONText.error(reason)) }
    }

    /// Executes the new program in this process with the state. Returns only if the exec failed
    /// (having told the requesters and undone its preparations).
    private func handOver(_ requesters: [Int32], newVersion: String, executable: String) {
        // Connections waiting for a request are not carried over: they are told to ask again.
        for fd in control.map({ Array($0.clients.descriptors) }) ?? [] where !requesters.contains(fd) {
            poll.remove(fd)
            control?.answer(fd, JSONText.error("the launcher is upgrading; ask again in a moment"))
        }
        for fd in debugEndpoint.map({ Array($0.clients.descriptors) }) ?? [] {
            poll.remove(fd)
            debugEndpoint?.answer(fd, status: "503 Service Unavailable", body: "the launcher is upgrading; reload in a moment\n")
        }
        let now = ContinuousClock.now
        for index in children.indices {
            readNotify(index, at: now, draining: true)
            children[index].readOutput(into: &buffer, draining: true)
        }
        let state = handover(requesters: requesters)
        let memory = cs_memfd_inheritable("satellite-handover")
        let bytes = state.encoded()
        guard memory >= 0, bytes.withUnsafeBytes({ write(memory, $0.baseAddress, $0.count) }) == bytes.count, lseek(memory, 0, SEEK_SET) == 0 else {
            let reason = String(cString: strerror(errno))
            if memory >= 0 { close(memory) }
            refuseUpgrade(requesters, "cannot write the state for the new launcher: \(reason)")
            return
        }
        log.info("upgrading in place", metadata: [
            "executable": .string(executable), "version": .string(supervisor.options.version ?? "unknown"), "new_version": .string(newVersion),
        ])
        var monotonic = timespec()
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        notifyParent("RELOADING=1\nMONOTONIC_USEC=\(monotonic.tv_sec * 1_000_000 + monotonic.tv_nsec / 1000)\nSTATUS=upgrading to \(newVersion)")
        for fd in state.descriptors { _ = fcntl(fd, F_SETFD, 0) }
        SignalPipe.block()
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(executable), strdup("--resume-fd"), strdup(String(memory)), nil]
        execv(executable, argv)
        let reason = String(cString: strerror(errno))
        for pointer in argv { free(pointer) }
        SignalPipe.unblock()
        for fd in state.descriptors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        close(memory)
        notifyParent("READY=1\nSTATUS=" + statusSummary)
        refuseUpgrade(requesters, "cannot execute \(executable): \(reason)")
    }

    /// This launcher's state as the next one takes it over.
    private func handover(requesters: [Int32]) -> Handover {
        let guardian = groupGuard?.handed
        let launcher = HandedLauncher(
            launchedAt: launchedAt, startedSequence: startedSequence, restartWhenDown: restartWhenDown.sorted(),
            controlListener: control?.listener ?? -1, debugListener: debugEndpoint?.listener ?? -1,
            guardPid: guardian?.pid ?? -1, guardPidfd: guardian?.pidfd ?? -1, guardChannel: guardian?.channel ?? -1, requesters: requesters
        )
        return Handover(
            plan: LaunchPlan(specs: supervisor.specs, settings: supervisor.options.planSettings),
            previousVersion: supervisor.options.version ?? "unknown", launcher: launcher,
            children: children.indices.map { children[$0].handed(machines[$0].saved) }
        )
    }
}

/// The new launcher program on trial: a child that reads the state and answers on its output.
final class UpgradeProbe {
    let executable: String
    let pid: Int32
    let pidfd: Int32
    let output: Int32
    let deadline: ContinuousClock.Instant
    /// Control connections waiting for the upgrade's outcome.
    var requesters: [Int32] = []
    private(set) var status: ExitStatus?
    private var collected: [UInt8] = []

    init(executable: String, pid: Int32, pidfd: Int32, output: Int32, deadline: ContinuousClock.Instant) {
        self.executable = executable
        self.pid = pid
        self.pidfd = pidfd
        self.output = output
        self.deadline = deadline
    }

    deinit {
        if pidfd >= 0 { close(pidfd) }
        close(output)
    }

    /// What the trial wrote, its last line first trimmed: `ready VERSION`, or why it failed
    /// (at most its last 1 KiB).
    var answer: String {
        String(decoding: collected.suffix(1024), as: UTF8.self).split(separator: "\n").map(String.init).last ?? ""
    }

    func readOutput() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(output, &chunk, chunk.count)
            guard count > 0 else { return }
            collected += chunk[..<count]
            if collected.count > 16 * 1024 { collected.removeFirst(collected.count - 16 * 1024) }
        }
    }

    /// Reaps the trial, waiting at most `waiting` for it to exit.
    func reap(waiting: Duration) {
        guard status == nil, pidfd >= 0 else { return }
        let until = ContinuousClock.now + waiting
        var code: Int32 = -1
        var signal: Int32 = -1
        while true {
            if cs_pidfd_reap(pidfd, &code, &signal) == 1 {
                status = code >= 0 ? .exited(code: code) : .signalled(signal)
                return
            }
            guard ContinuousClock.now < until else { return }
            usleep(1000)
        }
    }
}
