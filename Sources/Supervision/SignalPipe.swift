import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM, SIGINT, SIGHUP and SIGUSR2 as bytes in a pipe, so the supervisor's loop hears them
/// in the same `epoll_wait` as everything else: a C handler writes each signal's number into it.
final class SignalPipe {
    static let trapped: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGUSR2]

    /// Holds the trapped signals pending on the calling thread (its mask survives an exec), so
    /// that none takes its default action while no handler is installed.
    static func block() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in trapped { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Lets the trapped signals through again on the calling thread; those that arrived while
    /// blocked are delivered now.
    static func unblock() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in trapped { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// The end the loop watches; it does not block.
    let readEnd: Int32
    private let writeEnd: Int32

    init() throws(SupervisorSetupError) {
        var fds: [Int32] = [0, 0]
        guard cs_pipe2(&fds, O_CLOEXEC | O_NONBLOCK) == 0 else { throw .system("pipe2", errno: errno) }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Routes the trapped signals into the pipe from now on.
    func install() throws(SupervisorSetupError) {
        guard cs_signal_pipe_install(writeEnd, Self.trapped, Int32(Self.trapped.count)) == 0 else {
            throw .system("sigaction", errno: errno)
        }
    }

    /// Gives the trapped signals back their default dispositions.
    func uninstall() {
        cs_signal_pipe_uninstall(Self.trapped, Int32(Self.trapped.count))
    }

    /// The signals that arrived since the last call, in order.
    func take() -> [Int32] {
        var bytes = [UInt8](repeating: 0, count: 16)
        let count = read(readEnd, &bytes, bytes.count)
        guard count > 0 else { return [] }
        return bytes[..<count].map { Int32($0) }
    }
}
