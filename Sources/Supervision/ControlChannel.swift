import CSupport
import StructuredLogging

#if canImport(Glibc)
import Glibc
#endif

/// A request on the control socket: one line of words.
public enum ControlRequest: Sendable, Equatable {
    case status
    case restart(name: String)
    case restartTagged(tag: String)
    case stop
    case logLevel(level: String, process: String?)

    /// Reads `status`, `restart NAME`, `restart --tag TAG`, `stop`, `log-level LEVEL [NAME]`.
    public init(line: String) throws(ControlRequestError) {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        switch words.first {
        case "status" where words.count == 1: self = .status
        case "stop" where words.count == 1: self = .stop
        case "restart" where words.count == 3 && words[1] == "--tag": self = .restartTagged(tag: words[2])
        case "restart" where words.count == 2: self = .restart(name: words[1])
        case "log-level" where words.count == 2 || words.count == 3: self = .logLevel(level: words[1], process: words.count == 3 ? words[2] : nil)
        case nil: throw ControlRequestError(message: "empty request; expected status, restart NAME, restart --tag TAG, stop or log-level LEVEL [NAME]")
        default: throw ControlRequestError(message: "unknown request \"\(line.prefix(100))\"; expected status, restart NAME, restart --tag TAG, stop or log-level LEVEL [NAME]")
        }
    }

    /// The request as its line, without the newline.
    public var line: String {
        switch self {
        case .status: "status"
        case .stop: "stop"
        case .restart(let name): "restart \(name)"
        case .restartTagged(let tag): "restart --tag \(tag)"
        case .logLevel(let level, let process): "log-level \(level)" + (process.map { " \($0)" } ?? "")
        }
    }
}

public struct ControlRequestError: Error, Sendable, Equatable {
    public let message: String
}

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
        var text = text + "\n"
        _ = text.withUTF8 { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        clients.remove(fd)
        close(fd)
    }
}

/// Just enough JSON to write the control socket's answers without Foundation.
enum JSONText {
    static func string(_ text: String) -> String { LogLine.jsonString(text) }

    static func object(_ fields: [(String, String?)]) -> String {
        "{" + fields.map { string($0.0) + ":" + ($0.1 ?? "null") }.joined(separator: ",") + "}"
    }

    static func error(_ message: String) -> String {
        object([("ok", "false"), ("error", string(message))])
    }

    /// RFC 3339 in UTC with milliseconds.
    static func time(secondsSinceEpoch: Double) -> String {
        let seconds = secondsSinceEpoch.rounded(.down)
        return LogLine.rfc3339(timespec(tv_sec: Int(seconds), tv_nsec: Int((secondsSinceEpoch - seconds) * 1e9)))
    }
}
