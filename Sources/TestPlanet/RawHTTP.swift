import Foundation
import Satellite

#if canImport(Glibc)
import Glibc
#endif

extension TestPlanet {
    /// Sends `bytes` as they are to the API peer's socket and reads until it closes: for what a
    /// client library will not send (a chunked body, an unknown method, a malformed chunk).
    /// The bytes should ask for `Connection: close`. Blocking socket calls run on a thread of
    /// their own, never on Swift's shared pool, and give up after 10 s.
    public func rawRequest(_ bytes: [UInt8]) async throws -> HTTPAnswer {
        guard let port = await api.server.listeningPort() else { throw TestPlanetError.apiNotListening }
        let answer: [UInt8] = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: Self.exchange(port: port, bytes)) }
        }
        return HTTPAnswer(raw: answer)
    }

    private static func exchange(port: Int, _ bytes: [UInt8]) -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return [] }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            answer += chunk[..<count]
        }
        return answer
    }
}

extension HTTPAnswer {
    /// An HTTP/1.1 answer as it came off the socket: status line, headers, body (not chunked).
    init(raw: [UInt8]) {
        let text = String(decoding: raw, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts.first?.components(separatedBy: "\r\n") ?? []
        let status = head.first.flatMap { line in line.split(separator: " ").dropFirst().first.flatMap { Int($0) } } ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.init(status: status, headers: headers, body: Data(parts.dropFirst().joined(separator: "\r\n\r\n").utf8))
    }
}
