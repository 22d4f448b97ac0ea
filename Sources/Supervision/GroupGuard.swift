import CSupport
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's end of `satellite-exec --guard`: a small process outside the supervisor's
/// process group that learns every child's process group as it is spawned and reaped, and kills
/// the groups still listed if the supervisor dies without stopping them. PR_SET_PDEATHSIG takes
/// the children themselves; the guard takes what they started.
final class GroupGuard {
    private let pid: Int32
    private let pidfd: Int32
    private var channel: Int32

    /// Spawns the guard; nil (after logging why) if no process could be made, as supervision
    /// works without it. A guard program that cannot be executed says why on standard error and
    /// exits, which leaves supervision without a guard too.
    init?(program: String, log: Logger) {
        var fds: [Int32] = [0, 0]
        guard cs_pipe2(&fds, O_CLOEXEC) == 0 else {
            log.warning("no process group guard", metadata: ["error": "pipe2: \(String(cString: strerror(errno)))"])
            return nil
        }
        // A guard that stops reading must not stall supervision: records it misses are dropped.
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(program), strdup("--guard"), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = argv.withUnsafeBufferPointer { argv in
            envp.withUnsafeBufferPointer { envp in
                cs_fork_exec(&pid, program, argv.baseAddress, envp.baseAddress, 2, fds[0], 3, -1, -1, 0)
            }
        }
        close(fds[0])
        let pidfd = result == 0 ? cs_pidfd_open(pid) : -1
        guard result == 0, pidfd >= 0 else {
            log.warning("no process group guard", metadata: ["error": "cannot spawn \(program) --guard: \(String(cString: strerror(result == 0 ? errno : result)))"])
            if result == 0 { kill(pid, SIGKILL) }
            close(fds[1])
            return nil
        }
        self.pid = pid
        self.pidfd = pidfd
        self.channel = fds[1]
    }

    /// The guard a previous launcher handed over (an in-place upgrade): the same process, still
    /// holding every group it was told of.
    init(resuming pid: Int32, pidfd: Int32, channel: Int32) {
        self.pid = pid
        self.pidfd = pidfd
        self.channel = channel
    }

    /// What an in-place upgrade hands over: pid, pidfd, the channel's write end.
    var handed: (pid: Int32, pidfd: Int32, channel: Int32) { (pid, pidfd, channel) }

    func spawned(_ group: Int32) { send("+\(group)\n") }
    func reaped(_ group: Int32) { send("-\(group)\n") }

    private func send(_ record: String) {
        guard channel >= 0 else { return }
        var record = record
        _ = record.withUTF8 { write(channel, $0.baseAddress, $0.count) }
    }

    /// Tells the guard that supervision ended normally and reaps it.
    func finish() {
        guard channel >= 0 else { return }
        close(channel)
        channel = -1
        var poller = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        if poll(&poller, 1, 1000) != 1 { kill(pid, SIGKILL) }
        var code: Int32 = 0
        var signal: Int32 = 0
        for _ in 0..<100 where cs_pidfd_reap(pidfd, &code, &signal) == 0 { usleep(1000) }
        close(pidfd)
    }

    deinit {
        finish()
    }
}
