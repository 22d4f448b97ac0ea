import Foundation
import Testing

/// Where libsystemd connects a journal stream; a stand-in listens here when no journald does.
private let journalStdout = "/run/systemd/journal/stdout"

/// A stand-in for journald's stdout socket: accepts streams and keeps what arrives on each.
private final class FakeJournal: @unchecked Sendable {
    let fd: Int32
    private let lock = NSLock()
    private var streams: [Int32: [UInt8]] = [:]

    init() throws {
        try FileManager.default.createDirectory(atPath: "/run/systemd/journal", withIntermediateDirectories: true)
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (index, byte) in journalStdout.utf8.enumerated() { raw[index] = byte } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = fcntl(fd, F_SETFL, O_NONBLOCK)
    }

    /// Accepts and reads whatever is waiting.
    func pump() {
        lock.lock()
        defer { lock.unlock() }
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { break }
            _ = fcntl(client, F_SETFL, O_NONBLOCK)
            streams[client] = []
        }
        var chunk = [UInt8](repeating: 0, count: 4096)
        for client in streams.keys {
            while true {
                let count = read(client, &chunk, chunk.count)
                guard count > 0 else { break }
                streams[client]! += chunk[..<count]
            }
        }
    }

    /// Each stream's text: the header lines libsystemd sends (identifier first), then the output.
    var texts: [String] {
        lock.lock()
        defer { lock.unlock() }
        return streams.values.map { String(decoding: $0, as: UTF8.self) }
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        for client in streams.keys { Glibc.close(client) }
        Glibc.close(fd)
        unlink(journalStdout)
    }
}

@Suite(.timeLimit(.minutes(1)))
struct JournalTests {
    @Test(.enabled(if: !FileManager.default.fileExists(atPath: journalStdout), "a real journald is running; journalctl -t satellite-NAME shows the same"))
    func withTheJournalEachProcessWritesUnderItsOwnIdentifier() async throws {
        let journal = try FakeJournal()
        defer { journal.close() }
        let satellite = try LaunchedSatellite(config: """
            processes:
              - {name: hello, exec: /bin/sh, args: ["-c", "echo hello from the journal; echo oops >&2; exec sleep 1000"]}
              - {name: other, exec: /bin/sh, args: ["-c", "echo other line; exec sleep 1000"]}
            """, flags: ["--log.output=journal"])
        let deadline = Date().addingTimeInterval(20)
        func stream(_ identifier: String) -> String? { journal.texts.first { $0.hasPrefix(identifier + "\n") } }
        while Date() < deadline, stream("satellite-hello")?.contains("oops\n") != true || stream("satellite-other")?.contains("other line\n") != true {
            journal.pump()
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(stream("satellite-hello")?.contains("hello from the journal\noops\n") == true, "\(journal.texts)")
        #expect(stream("satellite-other")?.contains("other line\n") == true, "\(journal.texts)")
        #expect(stream("satellite-hello")?.contains("other line") == false)
        // No per-process files, and no satellite.log: the launcher's own lines go to its standard error.
        #expect(!FileManager.default.fileExists(atPath: satellite.logDir + "/hello.log"))
        #expect(!FileManager.default.fileExists(atPath: satellite.logDir + "/satellite.log"))
    }
}
