import CSupport
import StructuredLogging

#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's control socket: a unix stream socket, mode 0600, in a directory only its
/// owner can enter. Each connection sends one request line (at most 4 KiB) and gets one JSON
/// document back. Reading and writing never block the supervision loop: a client that sends too
/// much, too slowly or nothing at all only costs its own connection.
final class ControlChannel {
    static let requestLimit = 4096

    let path: String
    let listener: Int32
    /// `satellite status` and its kind send their line at once; a few seconds is generous.
    static let requestTimeout = Duration.seconds(5)
    private(set) var clients = PendingClients(limit: 64, timeout: requestTimeout)

    init(path: String) throws(SupervisorSetupError) {
        self.path = path
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !directory.isEmpty {
            if mkdir(directory, 0o700) != 0, errno != EEXIST {
                throw .system("mkdir \(directory)", errno: errno)
            }
            var info = stat()
            guard stat(directory, &info) == 0 else { throw .system("stat \(directory)", errno: errno) }
            if info.st_mode & 0o077 != 0 {
                guard info.st_uid == getuid(), chmod(directory, 0o700) == 0 else {
                    throw .invalid("the control socket's directory \(directory) is open to other users and cannot be made private")
                }
            }
        }
        listener = cs_unix_listen(path)
        guard listener >= 0 else { throw .system("listening on the control socket \(path)", errno: errno) }
    }

    /// The listener a previous launcher handed over (an in-place upgrade).
    init(path: String, resuming listener: Int32) {
        self.path = path
        self.listener = listener
    }

    deinit {
        for fd in clients.descriptors { close(fd) }
        close(listener)
        unlink(path)
    }

    /// Accepts every waiting connection; returns the descriptors to watch. Past the limit of
    /// connections waiting for their request, the one waiting longest is told so and closed (its
    /// descriptor leaves the poll as it closes).
    func accept(at now: ContinuousClock.Instant) -> [Int32] {
        var accepted: [Int32] = []
        while true {
            let fd = cs_accept(listener)
            guard fd >= 0 else { break }
            if clients.isFull, let oldest = clients.oldest {
                answer(oldest, JSONText.error("too many control connections waiting for their request; this one waited longest"))
                accepted.removeAll { $0 == oldest }
            }
            clients.add(fd, at: now)
            accepted.append(fd)
        }
        return accepted
    }

    enum Reading {
        case waiting
        case request(String)
        case refused(String)
    }

    /// Reads what the client sent so far.
    func read(_ fd: Int32, hangup: Bool) -> Reading {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(fd, &chunk, chunk.count)
            if count > 0 {
                let received = clients.append(fd, chunk[..<count])
                if let newline = received.firstIndex(of: UInt8(ascii: "\n")) {
                    return .request(String(decoding: received[..<newline], as: UTF8.self))
                }
                if received.count > Self.requestLimit { return .refused("request longer than \(Self.requestLimit) bytes") }
                continue
            }
            if count < 0, errno == EAGAIN || errno == EINTR { return hangup ? .refused("connection closed mid-request") : .waiting }
            // End of file: a request without its newline still counts.
            let pending = clients.received(fd)
            return pending.isEmpty ? .refused("empty request") : .request(String(decoding: pending, as: UTF8.self))
        }
    }

    /// Sends the answer (as much as the socket takes at once) and closes the connection.
    func answer(_ fd: Int32, _ text: String) {
        clients.remove(fd)
        Self.answer(fd, text)
    }

    /// Answers a connection this channel no longer tracks (one that waited through an upgrade).
    static func answer(_ fd: Int32, _ text: String) {
        var text = text + "\n"
        _ = text.withUTF8 { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        close(fd)
    }

    /// Stops tracking a connection that will be answered later (an upgrade's requester).
    func release(_ fd: Int32) {
        clients.remove(fd)
    }
}
