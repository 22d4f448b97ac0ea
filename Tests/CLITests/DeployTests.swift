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
        #expect(units == ["satellite-api.service", "satellite-core.service", "satellite-migration.service", "satellite-repairer.service", "satellite.service", "satellite.socket"])
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for unit in units {
            let text = try String(contentsOf: Self.deployDirectory.appendingPathComponent(unit), encoding: .utf8)
            let target = directory.appendingPathComponent(unit)
            try text.replacingOccurrences(of: "/usr/local/bin/satellite", with: SatelliteProcess.executable.path).write(to: target, atomically: true, encoding: .utf8)
            paths.append(target.path)
        }
        let verify = try await SatelliteProcess.run(["verify", "--man=no"] + paths, program: URL(fileURLWithPath: "/usr/bin/systemd-analyze"))
        let output = verify.stdout + verify.stderr
        #expect(verify.status == 0, "\(output)")
        #expect(output.isEmpty, "\(output)")
    }

    @Test func theLauncherUnitHasWhatAnOperatorRelieson() async throws {
        let text = try String(contentsOf: Self.deployDirectory.appendingPathComponent("satellite.service"), encoding: .utf8)
        for line in ["Type=notify", "NotifyAccess=main", "WatchdogSec=", "KillMode=mixed", "TimeoutStopSec=", "Restart=on-failure",
                     "DynamicUser=yes", "StateDirectory=satellite", "LogsDirectory=satellite", "RuntimeDirectory=satellite",
                     "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet="] {
            #expect(text.contains("\n" + line), "satellite.service lacks \(line)")
        }
    }
}
