import Foundation
import Testing

/// The systemd units in deploy/ pass `systemd-analyze verify`, pointed at the built binary.
@Suite(.timeLimit(.minutes(1)))
struct DeployTests {
    static var deployDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("deploy")
    }

    @Test func everyUnitVerifies() async throws {
        let units = try FileManager.default.contentsOfDirectory(atPath: Self.deployDirectory.path).filter { $0.hasSuffix(".service") || $0.hasSuffix(".socket") }.sorted()
        #expect(units == ["satellite-api.service", "satellite-core.service", "satellite-repairer.service", "satellite.service", "satellite.socket"])
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for unit in units {
            let text = try String(contentsOf: Self.deployDirectory.appendingPathComponent(unit), encoding: .utf8)
            let target = directory.appendingPathComponent(unit)
            try text.replacingOccurrences(of: "/usr/local/bin/satellite", with: SatelliteProcess.executable.path).write(to: target, atomically: true, encoding: .utf8)
            paths.append(target.path)
        }
        let verify = Process()
        verify.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        verify.arguments = ["verify", "--man=no"] + paths
        let errors = Pipe()
        verify.standardError = errors
        verify.standardOutput = errors
        try verify.run()
        let drain = PipeDrain(errors)
        let deadline = Date().addingTimeInterval(30)
        while verify.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        if verify.isRunning { verify.terminate() }
        while verify.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        let output = String(decoding: await drain.data(within: .seconds(5)), as: UTF8.self)
        #expect(verify.terminationStatus == 0, "\(output)")
        #expect(output.isEmpty, "\(output)")
    }

    @Test func theLauncherUnitHasWhatAnOperatorRelieson() throws {
        let text = try String(contentsOf: Self.deployDirectory.appendingPathComponent("satellite.service"), encoding: .utf8)
        for line in ["Type=notify", "NotifyAccess=main", "WatchdogSec=", "KillMode=mixed", "TimeoutStopSec=", "Restart=on-failure",
                     "DynamicUser=yes", "StateDirectory=satellite", "LogsDirectory=satellite", "RuntimeDirectory=satellite",
                     "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet="] {
            #expect(text.contains("\n" + line), "satellite.service lacks \(line)")
        }
    }
}
