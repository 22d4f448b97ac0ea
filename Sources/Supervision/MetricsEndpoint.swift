import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's `/metrics` over HTTP, in Prometheus' text format.
///
/// The launcher stays small by linking no HTTP stack; this answers one `GET /metrics` per
/// connection (anything else gets 404 or 405) with a request read without blocking and bounded
/// to 8 KiB, which is all a Prometheus scraper needs.
final class MetricsEndpoint {
    static let requestLimit = 8192

    let listener: Int32
    let port: Int
    private(set) var clients = PendingClients(limit: 64, timeout: .seconds(5))

    init(host: String, port: Int) throws(SupervisorSetupError) {
        listener = cs_tcp_listen(host, Int32(port))
        guard listener >= 0 else { throw .system("listening for /metrics on \(host):\(port)", errno: errno) }
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

    /// The request's method and path once its head has arrived; nil while it has not.
    func read(_ fd: Int32) -> (method: String, path: String)?? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(fd, &chunk, chunk.count)
            if count > 0 {
                let head = clients.append(fd, chunk[..<count])
                if let end = head.firstRange(of: [13, 10, 13, 10]) ?? head.firstRange(of: [10, 10]) {
                    let line = String(decoding: head[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n").first ?? ""
                    let words = line.split(separator: " ")
                    return .some(words.count >= 2 ? (String(words[0]), String(words[1])) : nil)
                }
                if head.count > Self.requestLimit { return .some(nil) }
                continue
            }
            if count < 0, errno == EAGAIN || errno == EINTR { return nil }
            return .some(nil)
        }
    }

    /// Answers and closes the connection.
    func answer(_ fd: Int32, status: String, body: String, contentType: String = "text/plain; version=0.0.4") {
        var response = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        _ = response.withUTF8 { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        clients.remove(fd)
        close(fd)
    }
}
