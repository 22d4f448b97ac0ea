import Foundation
import Testing

/// Bad input at scale on the launcher's control socket: random bytes, truncated and padded
/// requests, invalid UTF-8, oversized lines, connections that close mid-request, and a flood of
/// connections that send nothing. The launcher answers every one with an error document or
/// closes it, keeps serving, restarts nothing and holds no descriptor more than before.
@Suite(.timeLimit(.minutes(2)))
struct ControlFuzzTests {
    static let valid = ["status", "stop", "restart", "log-level"]

    /// One malformed request.
    static func payload(_ generator: inout some RandomNumberGenerator) -> (bytes: [UInt8], halfClose: Bool) {
        func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        let word = valid.randomElement(using: &generator)!
        let bytes: [UInt8]
        switch Int.random(in: 0..<9, using: &generator) {
        case 0: bytes = randomBytes(Int.random(in: 1...200, using: &generator))
        case 1: bytes = randomBytes(Int.random(in: 1...200, using: &generator)) + [10]
        case 2: bytes = Array(word.utf8.prefix(Int.random(in: 1..<word.utf8.count, using: &generator)))  // truncated
        case 3: bytes = Array("\(word) \(word) \(word) \(word)\n".utf8)  // too many words
        case 4: bytes = Array(word.utf8) + [0] + randomBytes(8) + [10]  // NUL inside
        case 5: bytes = [0xC3, 0x28, 0xA0, 0xA1, 0xF0, 0x28, 0x8C, 0xBC, 10]  // invalid UTF-8
        case 6: bytes = [UInt8](repeating: UInt8(ascii: "s"), count: Int.random(in: 4097...70_000, using: &generator))  // oversized
        case 7: bytes = Array("log-level \(String(repeating: "x", count: Int.random(in: 1...300, using: &generator))) nobody\n".utf8)
        default: bytes = Array("restart \(String(decoding: randomBytes(6).map { $0 % 26 + 97 }, as: UTF8.self))\n".utf8)
        }
        // A request with neither a newline nor an end waits out its 5 s; the flood below covers that.
        return (bytes, bytes.last != 10 || Bool.random(using: &generator))
    }

    @Test func garbageAndFloodsGetErrorsAndDisturbNothing() async throws {
        let satellite = try LaunchedSatellite(flags: ["--api.address=127.0.0.1:\(try freePort())"])
        try await satellite.until("every peer ready") { ["core", "api", "repairer"].allSatisfy { satellite.count("ready", of: $0) == 1 } }
        let socketPath = satellite.dataDir + "/run/satellite.sock"
        let spawned = satellite.count("spawned")
        let before = openDescriptors(of: satellite.pid)
        var generator = SystemRandomNumberGenerator()
        var answered = 0
        for _ in 0..<400 {
            let (bytes, halfClose) = Self.payload(&generator)
            let answer = rawExchange(socketPath, bytes, halfClose: halfClose)
            let document = try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any]
            // An error document naming what was wrong, or (for what is no request at all, a
            // restart of a process that does not exist) an error all the same.
            #expect(document?["ok"] as? Bool == false && !((document?["error"] as? String) ?? "").isEmpty,
                    "request \(bytes.prefix(80)) (\(bytes.count) bytes) got \(answer.prefix(300))")
            answered += 1
        }

        // More silent connections than the launcher keeps waiting: the ones waiting longest make
        // room, and a real request still gets its answer.
        var silent = (0..<300).map { _ in connectUnix(socketPath) }
        // Closed once: a descriptor number closed twice may by then be another thread's (a
        // Foundation process monitor's socket, a database file), and that once hung the test run.
        defer { for fd in silent where fd >= 0 { close(fd) } }
        #expect(rawExchange(socketPath, Array("status\n".utf8)).contains("\"processes\""), "status went unanswered during an idle flood")
        // The silent ones are closed with an error: the first to make room, the last after their 5 s.
        var timedOut = 0
        let closing = ContinuousClock.now + .seconds(20)
        for fd in silent.prefix(5) + silent.suffix(5) where fd >= 0 {
            var chunk = [UInt8](repeating: 0, count: 512)
            var count = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
            while count < 0, errno == EAGAIN, ContinuousClock.now < closing {
                try await Task.sleep(for: .milliseconds(50))
                count = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
            }
            if count > 0, String(decoding: chunk[..<count], as: UTF8.self).contains("\"error\"") { timedOut += 1 }
        }
        #expect(timedOut == 10, "silent connections were not closed with an error after their 5 s")
        for fd in silent where fd >= 0 { close(fd) }
        silent = []

        #expect(satellite.process.isRunning)
        #expect(satellite.count("spawned") == spawned, "a malformed request started or restarted a process")
        var held = openDescriptors(of: satellite.pid)
        let deadline = ContinuousClock.now + .seconds(10)
        while held != before, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            held = openDescriptors(of: satellite.pid)
        }
        #expect(held == before, "the launcher holds \(held) descriptors after \(answered) bad requests and a flood, \(before) before")
    }
}

/// A connection to a unix socket that sends nothing; -1 if it could not connect.
func connectUnix(_ path: String) -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
    }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        return -1
    }
    return fd
}
