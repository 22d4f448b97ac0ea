import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// The launcher's debug address over HTTP: `/metrics` in Prometheus' text format, `/status`,
/// and the operator page with its actions (the routes are the loop's, in
/// SupervisorLoop+Clients.swift).
///
/// The launcher stays small by linking no HTTP stack; this answers one request per connection,
/// read without blocking and bounded to 8 KiB (head and form), which is all a scraper, a
/// browser's form or curl sends.
final class DebugEndpoint {
    static let requestLimit = 8192

    let listener: Int32
    let port: Int
    private(set) var clients = PendingClients(limit: 64, timeout: .seconds(5))

    init(host: String, port: Int) throws(SupervisorSetupError) {
        listener = cs_tcp_listen(host, Int32(port))
        guard listener >= 0 else { throw .system("listening on the debug address \(host):\(port)", errno: errno) }
        self.port = Int(cs_local_port(listener))
    }

    /// The listener a previous launcher handed over (an in-place upgrade).
    init(resuming listener: Int32) {
        self.listener = listener
        self.port = Int(cs_local_port(listener))
    }

    deinit {
        for fd in clients.descriptors { close(fd) }
        close(listener)
    }

    /// Accepts every waiting connection; returns the descriptors to watch. Past the limit of
    /// connections waiting for their request, the one waiting longest is answered 503 and closed
    /// (its descriptor leaves the poll as it closes).
    func accept(at now: ContinuousClock.Instant) -> [Int32] {
        var accepted: [Int32] = []
        while true {
            let fd = cs_accept(listener)
            guard fd >= 0 else { break }
            if clients.isFull, let oldest = clients.oldest {
                answer(oldest, status: "503 Service Unavailable", body: "too many connections waiting for their request\n")
                accepted.removeAll { $0 == oldest }
            }
            clients.add(fd, at: now)
            accepted.append(fd)
        }
        return accepted
    }

    /// The request once it has all arrived (head, and the body its Content-Length announces);
    /// nil while it has not. Past the size limit, or once the client has closed, it is malformed.
    func read(_ fd: Int32) -> DebugRequest.Parse? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(fd, &chunk, chunk.count)
            if count > 0 {
                let received = clients.append(fd, chunk[..<count])
                if received.count > Self.requestLimit { return .malformed }
                switch DebugRequest.parse(received) {
                case .incomplete: continue
                case let parsed: return parsed
                }
            }
            if count < 0, errno == EAGAIN || errno == EINTR { return nil }
            return .malformed
        }
    }

    /// Answers and closes the connection.
    func answer(_ fd: Int32, status: String, body: String, contentType: String = "text/plain; charset=utf-8", headers: [(String, String)] = []) {
        let extra = headers.map { "\($0.0): \($0.1)\r\n" }.joined()
        var response = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\(extra)Connection: close\r\n\r\n" + body
        _ = response.withUTF8 { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        clients.remove(fd)
        close(fd)
    }
}
