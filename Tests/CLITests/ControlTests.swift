import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Sends raw bytes to a unix socket and returns what comes back before it closes.
func rawExchange(_ path: String, _ bytes: [UInt8], halfClose: Bool = false) -> String {
    let fd = connectUnix(path)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    if halfClose { shutdown(fd, Int32(SHUT_WR)) }
    var answer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count <= 0 { break }
        answer += chunk[..<count]
    }
    return String(decoding: answer, as: UTF8.self)
}

@Suite(.timeLimit(.minutes(2)))
struct ControlTests {
    static let config = """
        processes:
          - {name: ok, exec: /bin/sleep, args: ["1000"], tags: [steady, web]}
          - {name: once, exec: /bin/true, restart: never}
          - {name: flaky, exec: /bin/false, restart-backoff-initial: 1m}
          - {name: mute, exec: /bin/sleep, args: ["1000"], notify: true, heartbeat-timeout: 0s, start-timeout: 1m}
          - {name: patient, exec: /bin/sleep, args: ["1000"], after: [mute]}
          - {name: stubborn, exec: /bin/sh, notify: true, heartbeat-timeout: 0s, stop-timeout: 1m, tags: [web], args: ["-c", "trap '' TERM; echo READY=1 >&3; while :; do sleep 0.05; done"]}
        """

    func cli(_ satellite: LaunchedSatellite, _ arguments: [String]) async throws -> SatelliteProcess {
        try await SatelliteProcess.run(arguments + ["--data-dir", satellite.dataDir])
    }

    func status(_ satellite: LaunchedSatellite) async throws -> [String: Any] {
        let result = try await cli(satellite, ["status", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    /// Every field the README documents, with its type; nothing else.
    func checkSchema(_ document: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Set(document.keys) == ["version", "launcher", "processes"], sourceLocation: sourceLocation)
        #expect(document["version"] as? Int == 2, sourceLocation: sourceLocation)
        let launcher = document["launcher"] as? [String: Any] ?? [:]
        #expect(Set(launcher.keys) == ["pid", "phase", "started_at", "version"], sourceLocation: sourceLocation)
        #expect(launcher["version"] is String, sourceLocation: sourceLocation)
        #expect(["running", "stopping"].contains(launcher["phase"] as? String ?? ""), sourceLocation: sourceLocation)
        for process in document["processes"] as? [[String: Any]] ?? [] {
            #expect(Set(process.keys) == ["name", "pid", "state", "ready_since", "restarts", "last_exit_code", "last_exit_signal", "heartbeat_age_ms", "tags", "instance_of", "version"], sourceLocation: sourceLocation)
            #expect(process["name"] is String && process["restarts"] is Int && process["tags"] is [String], sourceLocation: sourceLocation)
            #expect(["waiting", "starting", "ready", "stopping", "backing-off", "down"].contains(process["state"] as? String ?? ""), sourceLocation: sourceLocation)
            for key in ["pid", "last_exit_code", "heartbeat_age_ms"] {
                #expect(process[key] is Int || process[key] is NSNull, "\(key)", sourceLocation: sourceLocation)
            }
            for key in ["ready_since", "last_exit_signal", "instance_of", "version"] {
                #expect(process[key] is String || process[key] is NSNull, "\(key)", sourceLocation: sourceLocation)
            }
        }
    }

    func process(_ document: [String: Any], _ name: String) -> [String: Any] {
        (document["processes"] as? [[String: Any]] ?? []).first { $0["name"] as? String == name } ?? [:]
    }

    @Test func statusDescribesEveryStateInItsDocumentedShape() async throws {
        let satellite = try LaunchedSatellite(config: Self.config)
        try await satellite.until("flaky to back off") { satellite.count("restarting", of: "flaky") == 2 }
        try await satellite.until("stubborn ready") { satellite.count("ready", of: "stubborn") == 1 }
        let running = try await status(satellite)
        checkSchema(running)
        #expect(process(running, "ok")["state"] as? String == "ready")
        #expect(process(running, "ok")["ready_since"] is String)
        #expect(process(running, "once")["state"] as? String == "down")
        #expect(process(running, "once")["last_exit_code"] as? Int == 0)
        #expect(process(running, "flaky")["state"] as? String == "backing-off")
        #expect(process(running, "flaky")["last_exit_code"] as? Int == 1)
        #expect(process(running, "flaky")["restarts"] as? Int == 2)
        #expect(process(running, "mute")["state"] as? String == "starting")
        #expect(process(running, "mute")["pid"] is Int)
        #expect(process(running, "patient")["state"] as? String == "waiting")
        #expect(process(running, "patient")["pid"] is NSNull)
        #expect(process(running, "stubborn")["heartbeat_age_ms"] is Int)

        let table = try await cli(satellite, ["status"])
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("NAME") == true)
        // Columns line up: every row's STATE starts where the header's does.
        let stateColumn = lines[0].range(of: "STATE")!.lowerBound.utf16Offset(in: lines[0])
        for line in lines.dropFirst().prefix(5) {
            #expect(line.count > stateColumn && line[line.index(line.startIndex, offsetBy: stateColumn - 1)] == " ")
        }

        #expect(try await cli(satellite, ["stop"]).status == 0)
        try await satellite.until("stubborn asked to stop") { satellite.records.contains { $0["process"] as? String == "stubborn" && $0["msg"] as? String == "stopping" } }
        let stopping = try await status(satellite)
        checkSchema(stopping)
        #expect((stopping["launcher"] as? [String: Any])?["phase"] as? String == "stopping")
        #expect(process(stopping, "stubborn")["state"] as? String == "stopping")
        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 1)
    }

    @Test func restartByNameOrTagGivesANewProcess() async throws {
        let satellite = try LaunchedSatellite(config: Self.config)
        try await satellite.until("stubborn ready") { satellite.count("ready", of: "stubborn") == 1 }
        let before = process(try await status(satellite), "ok")["pid"] as? Int
        let restarted = try await cli(satellite, ["restart", "ok"])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        #expect(restarted.stdout.contains("restarting ok"))
        try await satellite.until("ok spawned again") { satellite.count("spawned", of: "ok") == 2 }
        let after = process(try await status(satellite), "ok")["pid"] as? Int
        #expect(after != nil && after != before)

        let tagged = try await cli(satellite, ["restart", "--tag", "web"])
        #expect(tagged.stdout.contains("restarting ok, stubborn"), "\(tagged.stdout)")
        let unknown = try await cli(satellite, ["restart", "nobody"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no process is named \"nobody\""))
        let both = try await cli(satellite, ["restart", "ok", "--tag", "web"])
        #expect(both.status == 64)
        #expect(try await cli(satellite, ["log-level", "loud"]).status == 1)
        #expect(try await cli(satellite, ["log-level", "debug"]).status == 0)
        kill(satellite.pid, SIGKILL)
    }

    @Test func theSocketIsPrivateAndBadRequestsGetAnErrorAndDisturbNothing() async throws {
        let satellite = try LaunchedSatellite(config: Self.config)
        try await satellite.until("stubborn ready") { satellite.count("ready", of: "stubborn") == 1 }
        let socketPath = satellite.dataDir + "/run/satellite.sock"
        let socketMode = try FileManager.default.attributesOfItem(atPath: socketPath)[.posixPermissions] as? Int
        let directoryMode = try FileManager.default.attributesOfItem(atPath: satellite.dataDir + "/run")[.posixPermissions] as? Int
        #expect(socketMode == 0o600)
        #expect(directoryMode == 0o700)

        // A client that connects and says nothing holds only its own connection.
        let silent = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (index, byte) in socketPath.utf8.enumerated() { raw[index] = byte } }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(silent, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }

        for (request, expected) in [
            (Array("make coffee\n".utf8), "unknown request"),
            (Array("\n".utf8), "empty request"),
            ([UInt8](repeating: UInt8(ascii: "a"), count: 10_000), "longer than 4096"),
            ((0..<300).map { _ in UInt8.random(in: 0...255) } + [10], "request"),
            (Array("restart\n".utf8), "unknown request"),
        ] {
            let answer = rawExchange(socketPath, request)
            let object = try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any]
            #expect(object?["ok"] as? Bool == false, "\(answer)")
            #expect((object?["error"] as? String)?.contains(expected) == true, "\(answer)")
        }
        #expect(rawExchange(socketPath, Array("status".utf8), halfClose: true).contains("\"processes\""))
        checkSchema(try await status(satellite))
        #expect(satellite.process.isRunning)
        kill(satellite.pid, SIGKILL)
    }

    @Test func logLevelReachesARunningPeer() async throws {
        let satellite = try LaunchedSatellite(flags: ["--api.address=127.0.0.1:0"])
        try await satellite.until("every process ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        let changed = try await cli(satellite, ["log-level", "debug", "api"])
        #expect(changed.status == 0, "\(changed.stderr)")
        try await satellite.until("api's new level") { satellite.logText("api").contains(#""msg":"log level changed","level_now":"debug""#) }
        #expect(!satellite.logText("core").contains("log level changed"))
        let unknown = try await cli(satellite, ["log-level", "debug", "nobody"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no process is named \"nobody\""))
        let stopped = try await cli(satellite, ["log-level", "debug", "migration"])
        #expect(stopped.status == 1)
        #expect(stopped.stderr.contains("is not running"))
    }

    @Test func aClientWithNoLauncherGetsAClearError() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await SatelliteProcess.run(["status", "--data-dir", directory.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot reach the launcher's control socket"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}

@Suite(.timeLimit(.minutes(1)))
struct LauncherMetricsTests {
    func get(_ port: Int, _ path: String, method: String = "GET") async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func theLauncherServesPerProcessMetrics() async throws {
        let port = try freePort()
        let satellite = try LaunchedSatellite(config: """
            processes:
              - {name: steady, exec: /bin/sleep, args: ["1000"]}
              - {name: beating, exec: /bin/sh, notify: true, args: ["-c", "echo READY=1 >&3; while :; do echo WATCHDOG=1 >&3; sleep 0.1; done"]}
            """, flags: ["--supervisor.debug-address=127.0.0.1:\(port)"])
        try await satellite.until("ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        kill(try #require(satellite.pids(of: "steady").first), SIGKILL)
        try await satellite.until("steady restarted") { satellite.count("spawned", of: "steady") == 2 }
        let (status, text) = try await get(port, "/metrics")
        #expect(status == 200)
        for line in [
            #"satellite_process_up{process="steady"} 1"#, #"satellite_process_restarts_total{process="steady"} 1"#,
            #"satellite_process_last_exit_code{process="steady"} -9"#, "satellite_supervisor_ready 1",
            #"satellite_process_heartbeat_age_seconds{process="beating"} "#,
        ] {
            #expect(text.contains(line), "missing \(line) in\n\(text)")
        }
        #expect(try await get(port, "/elsewhere").0 == 404)
        #expect(try await get(port, "/metrics", method: "POST").0 == 405)
        #expect(!rawTCP(port, Array(repeating: UInt8(ascii: "x"), count: 20_000)).isEmpty)
        #expect(try await get(port, "/metrics").0 == 200, "the endpoint outlives a malformed request")
    }
}

/// Sends raw bytes to a TCP port (of loopback, or of `host`) and returns the answer.
func rawTCP(_ port: Int, _ bytes: [UInt8], host: String = "127.0.0.1") -> String {
    guard let connection = LoopbackConnection(port: port, host: host) else { return "" }
    defer { connection.close() }
    connection.send(bytes)
    return String(decoding: connection.receiveAll(), as: UTF8.self)
}

/// A TCP connection to a loopback port, for requests sent piece by piece.
final class LoopbackConnection {
    let descriptor: Int32

    init?(port: Int, host: String = "127.0.0.1", receiveTimeout seconds: Int = 10) {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else {
            Glibc.close(descriptor)
            return nil
        }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }

    /// Everything until the peer closes or the receive timeout passes.
    func receiveAll() -> [UInt8] {
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            if count <= 0 { break }
            answer += chunk[..<count]
        }
        return answer
    }

    func close() {
        Glibc.close(descriptor)
    }
}
