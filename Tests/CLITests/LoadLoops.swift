import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A body run over and over on a thread of its own (not the shared pool, which blocking socket
/// calls would stall) until stopped.
final class BackgroundLoop: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private var thread: Thread?

    func start(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            while self.isRunning { body() }
        }
        self.thread = thread
        thread.start()
    }

    /// Returns once the body's current round has finished.
    func stop() {
        lock.lock()
        running = false
        lock.unlock()
        while thread?.isFinished == false { usleep(1000) }
    }

    private var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return running
    }
}

/// One client connecting again and again (a new connection per request) on its own thread, as a
/// load balancer's health checks would, counting answers, refusals and other failures.
final class SteadyLoad: @unchecked Sendable {
    struct Counts: CustomStringConvertible {
        var ok = 0
        var refused = 0
        var failed = 0
        var lastFailure = ""
        var description: String { "ok \(ok), refused \(refused), failed \(failed) \(lastFailure)" }
    }

    let port: Int
    private let lock = NSLock()
    private var state = Counts()
    private let loop = BackgroundLoop()

    init(port: Int) {
        self.port = port
    }

    var counts: Counts {
        lock.lock()
        defer { lock.unlock() }
        return state
    }

    func start() { loop.start { self.once() } }
    func stop() { loop.stop() }

    private func once() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let connectError = errno
        var outcome: (inout Counts) -> Void
        if connected != 0 {
            outcome = connectError == ECONNREFUSED ? { $0.refused += 1 } : { $0.failed += 1; $0.lastFailure = "connect: \(connectError)" }
        } else {
            let request = Array("GET /health/live HTTP/1.1\r\nHost: satellite\r\nConnection: close\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var answer = [UInt8](repeating: 0, count: 64)
            let count = read(fd, &answer, answer.count)
            let readError = errno
            let text = count > 0 ? String(decoding: answer[..<count], as: UTF8.self) : ""
            outcome = text.hasPrefix("HTTP/1.1 200") ? { $0.ok += 1 } : { $0.failed += 1; $0.lastFailure = "answer \"\(text)\" errno \(readError)" }
        }
        lock.lock()
        outcome(&state)
        lock.unlock()
    }
}
