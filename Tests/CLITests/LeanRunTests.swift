import Foundation
import Testing

/// `satellite run` is read by the launcher itself (no Foundation, supervised in the process the
/// operator started), and everything it is not sure of goes to `satellite-cli`: these show both
/// roads, and that an operator cannot tell them apart by what is printed.
@Suite(.timeLimit(.minutes(2)))
struct LeanRunTests {
    static var fullCLI: URL { SatelliteProcess.executable.deletingLastPathComponent().appendingPathComponent("satellite-cli") }

    /// One scripted child, so that nothing but the launcher's reading of the file is measured.
    static let plain = """
        processes:
          - {name: sleeper, exec: /bin/sleep, args: ["1000"]}
        supervisor:
          stop-timeout: 2s
        """
    /// The same, through an anchor and an alias, which the plain reader declines.
    static let anchored = """
        supervisor:
          stop-timeout: &stop 2s
        processes:
          - {name: sleeper, exec: /bin/sleep, args: ["1000"], stop-timeout: *stop}
        """

    func arguments(of pid: Int32) -> [String] {
        let bytes = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test(arguments: [(plain, "run"), (anchored, "--plan-fd")])
    func theLaunchIsSupervisedEitherWayAndSaysEachWarningOnce(config: String, launcherEntry: String) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("data").path
        #expect(try await SatelliteProcess.run(["setup", "--data-dir=\(dataDir)"]).status == 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dataDir + "/satellite.db")
        let file = directory.appendingPathComponent("launch.yaml")
        try config.write(to: file, atomically: true, encoding: .utf8)
        let stderr = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        let launcher = Process()
        launcher.executableURL = SatelliteProcess.executable
        launcher.arguments = ["run", "--config", file.path, "--data-dir", dataDir]
        launcher.environment = ["PATH": "/usr/bin:/bin", "SATELLITE_BOGUS": "1"]
        launcher.standardOutput = FileHandle.nullDevice
        launcher.standardError = try FileHandle(forWritingTo: stderr)
        try launcher.run()
        defer {
            if launcher.isRunning { kill(launcher.processIdentifier, SIGKILL) }
            launcher.waitUntilExit()
        }
        let log = dataDir + "/log/satellite.log"
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\"msg\":\"ready\"") {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\"msg\":\"ready\""), "the launcher never said it was ready")
        // The plain file is supervised by the very program started; the anchored one by the
        // launcher the full CLI executed in its place (same pid either way).
        let words = arguments(of: launcher.processIdentifier)
        #expect(words.first?.hasSuffix("/satellite") == true, "\(words)")
        #expect(words.dropFirst().first == launcherEntry, "\(words)")
        let status = try await SatelliteProcess.run(["status", "--data-dir", dataDir])
        #expect(status.stdout.contains("sleeper"), "\(status.stdout)")
        kill(launcher.processIdentifier, SIGTERM)
        await launcher.exited()
        #expect(launcher.terminationStatus == 0)
        let lines = try String(contentsOf: stderr, encoding: .utf8).split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("config warning: environment variable SATELLITE_BOGUS names no configuration key") }.count == 1, "\(lines)")
        #expect(lines.filter { $0 == "warning: \(dataDir)/satellite.db is readable by other users (mode 644); it holds every project, bucket and key hash: chmod 600 \(dataDir)/satellite.db" }.count == 1, "\(lines)")
    }

    /// Each mistake, printed and ended by `satellite run` exactly as by the full CLI, before
    /// anything is made.
    @Test(arguments: [
        (["run", "--config", "FILE"], "api:\n  adress: 127.0.0.1:1\n", [String: String]()),
        (["run", "--config", "FILE"], "log:\n  level: loud\n", [:]),
        (["run", "--config", "FILE"], "api: [unclosed\n", [:]),
        (["run", "--config", "FILE"], "x: &a 1\ny: *a\n", [:]),
        (["run", "--config", "FILE"], "processes:\n  - {name: a, exec: /nonexistent/program}\n", [:]),
        (["run", "--config", "FILE"], "processes:\n  - {name: a, exec: /bin/sleep, after: [b]}\n  - {name: b, exec: /bin/sleep, after: [a]}\n", [:]),
        (["run", "--config", "FILE"], "database:\n  url: postgres://satellite:hunter2@db.example/satellite\n", [:]),
        (["run", "--config", "DIR/missing.yaml"], "", [:]),
        (["run", "--config"], "", [:]),
        (["run", "--api.adress=127.0.0.1:1"], "", [:]),
        (["run", "--supervisor.stop-timeout", "forever"], "", [:]),
        (["run"], "", ["SATELLITE_LOG_FORMAT": "xml"]),
        (["run", "bogus"], "", [:]),
        (["run", "-x"], "", [:]),
    ])
    func everyMistakeReadsTheSameAsFromTheFullCLI(arguments: [String], file: String, environment: [String: String]) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("data").path
        let path = directory.appendingPathComponent("satellite.yaml").path
        try file.write(toFile: path, atomically: true, encoding: .utf8)
        let words = arguments.map { $0 == "FILE" ? path : $0.replacingOccurrences(of: "DIR", with: directory.path) } + (arguments.contains("--config") && arguments.last == "--config" ? [] : ["--data-dir", dataDir])
        let launcher = try await SatelliteProcess.run(words, in: directory, environment: environment)
        let full = try await SatelliteProcess.run(words, in: directory, environment: environment, program: Self.fullCLI)
        #expect(launcher.status != 0, "\(words): \(launcher.stderr)")
        #expect(launcher.status == full.status, "\(words)")
        #expect(launcher.stderr == full.stderr, "\(words)")
        #expect(launcher.stdout == full.stdout, "\(words)")
        #expect(!launcher.stderr.contains("hunter2"))
        #expect(!FileManager.default.fileExists(atPath: dataDir), "\(words) made the data directory")
    }
}
