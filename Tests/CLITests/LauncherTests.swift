import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite(.timeLimit(.minutes(2)))
struct LauncherTests {
    /// A launcher started again right after its predecessor was killed meets the predecessor's
    /// API still exiting: it waits for the address instead of refusing to start.
    @Test func anAPIAddressStillHeldForAMomentIsWaitedFor() async throws {
        let port = try freePort()
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        #expect(bound && listen(holder, 1) == 0)
        let satellite = try LaunchedSatellite(flags: ["--api.address=127.0.0.1:\(port)"])
        try await Task.sleep(for: .seconds(1))
        #expect(satellite.process.isRunning)
        close(holder)
        try await satellite.until("every process ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        let (_, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/health/ready")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func defaultsBringUpThePeersInOrderAndASignalBringsThemDownInReverse(signal: Int32) async throws {
        let port = try freePort()
        let satellite = try LaunchedSatellite(flags: ["--debug.address=127.0.0.1:0", "--api.address=127.0.0.1:\(port)"])
        try await satellite.until("every process ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        let spawned = satellite.events.filter { $0.msg == "spawned" }.map(\.process)
        #expect(spawned == ["migration", "core", "api", "repairer"])
        #expect(satellite.events.contains { $0 == ("migration", "exited") })
        for peer in ["core", "api", "repairer"] {
            #expect(satellite.count("ready", of: peer) == 1)
            // The peer logs `ready` and sends READY=1 from two tasks; its log line may come second.
            try await satellite.until("\(peer)'s own ready line") { satellite.logText(peer).contains(#""msg":"ready""#) }
        }
        let children = ["core", "api", "repairer"].flatMap { satellite.pids(of: $0) }
        // Each peer's log names its subsystems.
        #expect(satellite.logText("core").contains(#""subsystems":["debug","repair:checker","accounting:tally","metainfo:deletion"]"#))
        #expect(satellite.logText("api").contains(#""subsystems":["debug","api:server"]"#))
        #expect(satellite.logText("repairer").contains(#""subsystems":["debug","pieces:client","repair:worker","gc:retain","audit:chore"]"#))
        // The API answers on its address once the launcher calls everything ready.
        let (ready, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/health/ready")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: ready, as: UTF8.self) == "ready\n")

        kill(satellite.pid, signal)
        #expect(try await satellite.exitStatus() == 0)
        let stopped = satellite.events.filter { $0.msg == "stopped" && $0.process != "launcher" }.map(\.process)
        #expect(stopped == ["repairer", "api", "core"])
        for peer in ["core", "api", "repairer"] {
            #expect(satellite.events.contains { $0 == (peer, "exited") })
            #expect(satellite.logText(peer).contains(#""msg":"stopped""#), "\(peer) did not stop gracefully")
        }
        for child in children { #expect(processIsGone(child)) }
    }

    @Test func underSystemdTheLauncherSendsReadyStatusWatchdogAndStoppingInOrder() async throws {
        let socketDirectory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: socketDirectory) }
        let socketPath = socketDirectory.appendingPathComponent("notify").path
        let socket = try NotifySocket(path: socketPath)
        defer { socket.close() }
        let satellite = try LaunchedSatellite(config: """
            processes:
              - {name: first, exec: /bin/sleep, args: ["1000"]}
              - {name: second, exec: /bin/sleep, args: ["1000"], stop-timeout: 2s}
            """, environment: ["NOTIFY_SOCKET": socketPath, "WATCHDOG_USEC": "200000"])
        var received: [String] = []
        while !received.contains(where: { $0.hasPrefix("READY=1") }) {
            guard let message = await socket.receive(timeoutSeconds: 20) else { break }
            received.append(message)
        }
        #expect(received.last == "READY=1\nSTATUS=2/2 ready")
        while received.filter({ $0 == "WATCHDOG=1" }).count < 3 {
            guard let message = await socket.receive(timeoutSeconds: 5) else { break }
            received.append(message)
        }
        kill(try #require(satellite.pids(of: "second").first), SIGKILL)
        while !received.contains(where: { $0.contains("second restarted 1 time") }) {
            guard let message = await socket.receive(timeoutSeconds: 5) else { break }
            received.append(message)
        }
        kill(satellite.pid, SIGTERM)
        while let message = await socket.receive(timeoutSeconds: 2) { received.append(message) }
        #expect(try await satellite.exitStatus() == 0)

        let stopping = try #require(received.firstIndex(of: "STOPPING=1\nSTATUS=stopping"), "\(received)")
        let ready = try #require(received.firstIndex { $0.hasPrefix("READY=1") })
        #expect(ready < stopping)
        #expect(received[ready..<stopping].filter { $0 == "WATCHDOG=1" }.count >= 3)
        #expect(received[..<stopping].contains("STATUS=2/2 ready; second restarted 1 time"), "\(received)")
        // Each process asked to stop extends systemd's stop timeout by its own stop timeout and a second.
        #expect(received[stopping...].filter { $0.hasPrefix("EXTEND_TIMEOUT_USEC=") } == ["EXTEND_TIMEOUT_USEC=3000000", "EXTEND_TIMEOUT_USEC=11000000"])
    }

    @Test func sighupReopensEveryLogForLogrotate() async throws {
        let satellite = try LaunchedSatellite(config: """
            processes:
              - {name: ticker, exec: /bin/sh, args: ["-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.02; done"]}
            """)
        try await satellite.until("ticks") { satellite.logText("ticker").contains("tick 3\n") }
        // logrotate renames, then signals.
        let logs = satellite.logDir
        try FileManager.default.moveItem(atPath: logs + "/ticker.log", toPath: logs + "/ticker.log.1")
        try FileManager.default.moveItem(atPath: logs + "/satellite.log", toPath: logs + "/satellite.log.1")
        kill(satellite.pid, SIGHUP)
        try await satellite.until("a new ticker.log") { satellite.logText("ticker").contains("tick") }
        try await satellite.until("a new satellite.log") { FileManager.default.fileExists(atPath: logs + "/satellite.log") }
        #expect(satellite.process.isRunning, "SIGHUP must not stop the launcher")
        // Nothing was lost or split across the two files.
        let old = try String(contentsOfFile: logs + "/ticker.log.1", encoding: .utf8)
        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
        let numbers = (old + satellite.logText("ticker")).split(separator: "\n").map { Int($0.dropFirst(5)) }
        #expect(!numbers.contains(nil))
        #expect(numbers.compactMap { $0 } == Array(1...(numbers.count)))
    }

    @Test func anAPIRestartUnderASteadyLoadRefusesNoConnection() async throws {
        let port = try freePort()
        let satellite = try LaunchedSatellite(flags: ["--api.address=127.0.0.1:\(port)"])
        try await satellite.until("every process ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        // Four clients, so that some connection is usually on its way through the old API's
        // accept path when it stops.
        let loads = (0..<4).map { _ in SteadyLoad(port: port) }
        for load in loads { load.start() }
        defer { for load in loads { load.stop() } }
        func answered() -> Int { loads.map(\.counts.ok).reduce(0, +) }
        try await satellite.until("some answers") { answered() >= 20 }
        for restart in 2...5 {
            let answer = try await SatelliteProcess.run(["restart", "api", "--data-dir", satellite.dataDir])
            #expect(answer.status == 0, "\(answer.stderr)")
            try await satellite.until("api ready again") { satellite.count("ready", of: "api") == restart }
            let served = answered()
            try await satellite.until("answers from the new api") { answered() >= served + 20 }
        }
        for load in loads { load.stop() }
        for counts in loads.map(\.counts) {
            #expect(counts.refused == 0, "\(counts)")
            #expect(counts.failed == 0, "\(counts)")
        }
        #expect(answered() > 100)
    }

    @Test func underSocketActivationTheAPIServesSystemdsSocket() async throws {
        let port = try freePort()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Python stands in for systemd: it binds the socket, puts it at descriptor 3, sets
        // LISTEN_PID to its own pid and executes satellite in its place.
        let script = """
            import os, socket
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", \(port))); s.listen(64); os.dup2(s.fileno(), 3); os.set_inheritable(3, True)
            os.environ["LISTEN_PID"] = str(os.getpid()); os.environ["LISTEN_FDS"] = "1"
            os.execv("\(SatelliteProcess.executable.path)", ["satellite", "run", "--data-dir", "\(directory.path)/data", "--api.address=127.0.0.1:1"])
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        // api.address says port 1, where nothing may bind: the answer can only come from the inherited socket.
        let deadline = Date().addingTimeInterval(30)
        var answer = ""
        while Date() < deadline, !answer.hasPrefix("HTTP/1.1 200") {
            answer = rawTCP(port, Array("GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            if !answer.hasPrefix("HTTP/1.1 200") { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
        #expect(answer.hasSuffix("ready\n"))
        kill(process.processIdentifier, SIGTERM)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(process.terminationStatus == 0)
    }

    @Test func peersBeatOftenEnoughNeverToLookHung() async throws {
        let satellite = try LaunchedSatellite(flags: [
            "--debug.address=127.0.0.1:0", "--api.address=127.0.0.1:0", "--supervisor.heartbeat-interval=50ms", "--supervisor.heartbeat-timeout=400ms", "--supervisor.stop-timeout=500ms",
        ])
        try await satellite.until("every process ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        // Four heartbeat timeouts: a peer that did not beat would have been declared hung.
        try await Task.sleep(for: .milliseconds(1600))
        #expect(satellite.count("hung") == 0)
        #expect(satellite.count("restarting") == 0)
        // And a peer that stops beating is caught: SIGSTOP freezes core's heartbeat.
        let core = try #require(satellite.pids(of: "core").first)
        kill(core, SIGSTOP)
        try await satellite.until("core declared hung") { satellite.count("hung", of: "core") == 1 }
        let hung = satellite.records.first { $0["msg"] as? String == "hung" }
        #expect(Int(hung?["heartbeat_age_ms"] as? String ?? "") ?? 0 >= 400)
        try await satellite.until("core restarted") { satellite.count("ready", of: "core") == 2 }
        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
    }

    @Test func childrenInheritOnlyTheirDescriptorsAndTheirEntrysSettings() async throws {
        let satellite = try LaunchedSatellite(config: """
            processes:
              - {name: migration, run: migration, oneshot: true}
              - {name: core, run: core, stop-timeout: 7s, heartbeat-interval: 300ms}
              - {name: plain, exec: /bin/sleep, args: ["1000"], env: {COLOUR: blue}}
              - {name: speaker, exec: /bin/sh, notify: true, args: ["-c", "echo READY=1 >&3; exec sleep 1000"]}
            """, flags: ["--debug.address=127.0.0.1:0"], environment: ["NOTIFY_SOCKET": "/run/systemd/notify", "KEEP": "me"])
        try await satellite.until("every process ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        func environment(_ name: String) -> [String] {
            let pid = satellite.pids(of: name).last ?? 0
            let raw = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            return raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        }
        func descriptors(_ name: String) -> [String] {
            let pid = satellite.pids(of: name).last ?? 0
            return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).sorted()
        }
        let core = environment("core")
        for expected in ["SATELLITE_PROCESS=core", "SATELLITE_NOTIFY_FD=3", "SATELLITE_SUPERVISOR_STOP_TIMEOUT=7s", "SATELLITE_SUPERVISOR_HEARTBEAT_INTERVAL=300ms", "KEEP=me"] {
            #expect(core.contains(expected), "core's environment lacks \(expected)")
        }
        #expect(!core.contains { $0.hasPrefix("NOTIFY_SOCKET=") })
        let plain = environment("plain")
        #expect(plain.contains("COLOUR=blue") && plain.contains("SATELLITE_PROCESS=plain"))
        #expect(!plain.contains { $0.hasPrefix("SATELLITE_NOTIFY_FD=") })
        #expect(descriptors("plain") == ["0", "1", "2"])
        #expect(descriptors("speaker") == ["0", "1", "2", "3"])
        let stdin = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(satellite.pids(of: "plain")[0])/fd/0")
        #expect(stdin == "/dev/null")
        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
    }

    @Test func killingTheLauncherLeavesNoOrphans() async throws {
        let satellite = try LaunchedSatellite(config: """
            processes:
              - {name: migration, run: migration, oneshot: true}
              - {name: core, run: core}
              - {name: sleeper, exec: /bin/sleep, args: ["1000"]}
              - {name: script, exec: /bin/sh, args: ["-c", "trap '' TERM HUP; while :; do sleep 0.1; done"]}
              - {name: parent, exec: /bin/sh, args: ["-c", "sleep 1000 & echo $! > grandchild; exec sleep 1000"]}
            """, flags: ["--debug.address=127.0.0.1:0"])
        try await satellite.until("every process ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        let grandchildFile = satellite.directory.appendingPathComponent("grandchild").path
        try await satellite.until("the grandchild's pid") { ((try? String(contentsOfFile: grandchildFile, encoding: .utf8)) ?? "").hasSuffix("\n") }
        let grandchild = try #require(Int32(String(contentsOfFile: grandchildFile, encoding: .utf8).filter(\.isNumber)))
        let children = ["core", "sleeper", "script", "parent"].flatMap { satellite.pids(of: $0) } + [grandchild]
        #expect(children.count == 5)
        kill(satellite.pid, SIGKILL)
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline, !children.allSatisfy(processIsGone) { try await Task.sleep(for: .milliseconds(5)) }
        for child in children { #expect(processIsGone(child), "process \(child) outlived the launcher by 2 s") }
    }

    @Test func descriptorsAndZombiesStaySteadyOverAThousandRestarts() async throws {
        // The child exits at once 1000 times, then stays up, so the launcher can be looked at
        // with nothing in flight.
        let script = "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -gt 1000 ] && exec sleep 1000; exit 0"
        let satellite = try LaunchedSatellite(config: """
            supervisor:
              restart-backoff-initial: 0s
              restart-backoff-max: 0s
              restart-limit: 1000000
            processes:
              - name: blink
                exec: /bin/sh
                args: ["-c", "\(script)"]
            """)
        try await satellite.until("20 restarts") { satellite.count("restarting") >= 20 }
        let early = openDescriptors(of: satellite.pid)
        // About 15 s alone; beside a full run's launched networks it took over a minute.
        try await satellite.until("1000 restarts", timeout: 100) { satellite.count("restarting") >= 1000 }
        let countFile = satellite.directory.appendingPathComponent("count").path
        try await satellite.until("the child to stay up") { (try? String(contentsOfFile: countFile, encoding: .utf8)) == "1001\n" }
        try await satellite.until("the last spawn logged") { satellite.count("spawned") == 1001 }
        #expect(openDescriptors(of: satellite.pid) == early)
        #expect(zombies(of: satellite.pid).isEmpty)
        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
    }

    @Test func aSecondSignalKillsWhatIsLeftAndExits1() async throws {
        let satellite = try LaunchedSatellite(config: """
            supervisor:
              stop-timeout: 1m
            processes:
              - {name: stubborn, exec: /bin/sh, notify: true, heartbeat-timeout: 0s, args: ["-c", "trap '' TERM; echo READY=1 >&3; while :; do sleep 0.05; done"]}
            """)
        try await satellite.until("stubborn ready") { satellite.count("ready", of: "stubborn") == 1 }
        kill(satellite.pid, SIGTERM)
        try await satellite.until("SIGTERM sent") { satellite.count("stopping", of: "stubborn") == 1 }
        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus(timeout: 10) == 1)
        #expect(satellite.records.contains { $0["process"] as? String == "stubborn" && $0["signal"] as? String == "SIGKILL" && $0["msg"] as? String == "exited" })
    }

    @Test func aCrashLoopMakesTheLauncherGiveUpAndExit1() async throws {
        let satellite = try LaunchedSatellite(config: """
            supervisor:
              restart-backoff-initial: 1ms
              restart-limit: 3
            processes:
              - {name: sleeper, exec: /bin/sleep, args: ["1000"]}
              - {name: broken, exec: /bin/false}
            """)
        #expect(try await satellite.exitStatus() == 1)
        let givingUp = satellite.records.first { $0["msg"] as? String == "giving up" }
        #expect(givingUp?["reason"] as? String == "broken needed more than 3 restarts within 1m0s")
        #expect(satellite.events.last { $0.process == "sleeper" }?.msg == "stopped")
    }

    @Test(arguments: [
        ("processes:\n  - {name: a, exec: /bin/true, after: [b]}\n  - {name: b, exec: /bin/true, after: [a]}\n", "processes wait on each other in a cycle: a -> b -> a"),
        ("processes:\n  - {name: a, exec: /bin/true, after: [nobody]}\n", #"invalid value "nobody" for "processes[0].after""#),
        ("processes:\n  - name: a\n    exec: /bin/true\n    retsart: never\n", #"satellite.yaml:4: unknown key "processes[0].retsart"; did you mean "processes[0].restart"?"#),
        ("processes:\n  - {name: a, exec: /no/such/program}\n", #"invalid value "/no/such/program" for "processes[0].exec"; expected an executable file"#),
        ("processes:\n  - {name: a, run: core, exec: /bin/true}\n", "either a peer (run:) or a program (exec:)"),
        ("processes:\n  - {name: a, exec: /bin/true}\n  - {name: a, exec: /bin/true}\n", #"expected a name no other process has"#),
        ("processes:\n  - {name: a, exec: /bin/true, stop-timeout: soon}\n", #"invalid value "soon" for "processes[0].stop-timeout""#),
        ("processes:\n  - {name: a, exec: /bin/true, instances: 0}\n", #"invalid value "0" for "processes[0].instances"; expected a whole number from 1 to 64"#),
        ("processes:\n  - {name: a, exec: /bin/true, instances: many}\n", #"invalid value "many" for "processes[0].instances""#),
        ("processes:\n  - {name: a, exec: /bin/true, oneshot: true, instances: 2}\n", "a one-shot process runs once"),
        ("processes:\n  - {name: a@1, exec: /bin/true}\n", "a name of letters, digits, - and _"),
    ])
    func badProcessListsAreConfigErrors(config: String, message: String) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("satellite.yaml")
        try config.write(to: path, atomically: true, encoding: .utf8)
        let result = try await SatelliteProcess.run(["run", "--config", path.path, "--data-dir", directory.appendingPathComponent("data").path])
        #expect(result.status == 78)
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("data").path))
    }
}
