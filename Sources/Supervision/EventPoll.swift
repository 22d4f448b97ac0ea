import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// An epoll set: descriptors registered with a token, and a wait that returns the tokens of
/// those that became readable. The supervisor's only way of waiting, so it costs no CPU at rest.
struct EventPoll: ~Copyable {
    struct Readiness {
        let token: UInt64
        /// The other end closed (or an error is pending); read until end-of-file.
        let hangup: Bool
    }

    let descriptor: Int32

    init() throws(SupervisorSetupError) {
        descriptor = cs_epoll_create()
        guard descriptor >= 0 else { throw .system("epoll_create1", errno: errno) }
    }

    deinit {
        close(descriptor)
    }

    func add(_ fd: Int32, token: UInt64) throws(SupervisorSetupError) {
        guard cs_epoll_add(descriptor, fd, token) == 0 else { throw .system("epoll_ctl(ADD, fd \(fd))", errno: errno) }
    }

    func remove(_ fd: Int32) {
        _ = cs_epoll_remove(descriptor, fd)
    }

    /// Waits until something is readable or `timeout` passes (nil waits for ever).
    func wait(timeout: Duration?) -> [Readiness] {
        var tokens = [UInt64](repeating: 0, count: 64)
        var hangups = [Int32](repeating: 0, count: 64)
        let milliseconds: Int32 = timeout.map { Int32(clamping: max(0, $0.millisecondsRoundedUp)) } ?? -1
        let count = cs_epoll_wait(descriptor, &tokens, &hangups, 64, milliseconds)
        guard count > 0 else { return [] }
        return (0..<Int(count)).map { Readiness(token: tokens[$0], hangup: hangups[$0] != 0) }
    }
}
