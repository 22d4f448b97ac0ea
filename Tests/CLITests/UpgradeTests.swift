import Foundation
import Testing

/// The build installed in a directory of its own, as an operator installs it: `satellite-cli` and
/// `satellite-exec` (hard links to the build's) and `satellite`, the launcher, which the test
/// replaces as an upgrade replaces the file on disk.
final class InstalledBuild {
    let directory: URL
    var satellite: URL { directory.appendingPathComponent("satellite") }
    var launcher: URL { satellite }
    static let built = SatelliteProcess.executable.deletingLastPathComponent()
    static let stamp = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/stamp-version").path

    init() throws {
        directory = try temporaryDirectory()
        for name in ["satellite-cli", "satellite-exec"] {
            let source = Self.built.appendingPathComponent(name), target = directory.appendingPathComponent(name)
            // /proc/self/exe names the link, so the launcher finds its guard and peers here.
            if link(source.path, target.path) != 0 { try FileManager.default.copyItem(at: source, to: target) }
        }
        try FileManager.default.copyItem(at: Self.built.appendingPathComponent("satellite"), to: launcher)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Replaces the launcher with the build's, stamped `version` (the release tool's way of
    /// making a binary of the same commit with another version).
    func installLauncher(version: String) async throws {
        let result = try await SatelliteProcess.run(
            [Self.stamp, Self.built.appendingPathComponent("satellite").path, version, launcher.path], program: URL(fileURLWithPath: "/usr/bin/python3")
        )
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// Replaces the launcher with a shell script (renamed into place, as a package manager does).
    func installLauncher(script: String) throws {
        let temporary = directory.appendingPathComponent("satellite.new")
        try ("#!/bin/sh\n" + script + "\n").write(to: temporary, atomically: false, encoding: .utf8)
        chmod(temporary.path, 0o755)
        guard rename(temporary.path, launcher.path) == 0 else { throw POSIXError(.EIO) }
    }

    /// The build's own launcher, renamed aside, for a script that passes the trial through to it.
    func keepRealLauncher() throws -> URL {
        let real = directory.appendingPathComponent("real-launcher")
        try FileManager.default.copyItem(at: Self.built.appendingPathComponent("satellite"), to: real)
        return real
    }
}

@Suite(.timeLimit(.minutes(3)))
struct UpgradeTests {
    func status(_ satellite: LaunchedSatellite) async throws -> [String: Any] {
        let result = try await SatelliteProcess.run(["status", "--json", "--data-dir", satellite.dataDir])
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    /// Two of the document's times name the same instant (each rendering rounds to the
    /// millisecond against the wall clock of its moment), or both are null.
    static func sameMoment(_ a: Any?, _ b: Any?) -> Bool {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let a = a as? String, let b = b as? String else { return a is NSNull && b is NSNull }
        guard let x = format.date(from: a), let y = format.date(from: b) else { return false }
        return abs(x.timeIntervalSince(y)) <= 0.002
    }

    func processes(_ document: [String: Any]) -> [String: [String: Any]] {
        Dictionary(uniqueKeysWithValues: (document["processes"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", $0) })
    }

    @Test func anUpgradeUnderLoadRestartsNothingRefusesNothingKeepsThePidAndCarriesTheCounts() async throws {
        let build = try InstalledBuild()
        let port = try freePort()
        let satellite = try LaunchedSatellite(executable: build.satellite, flags: ["--api.address=127.0.0.1:\(port)"])
        try await satellite.until("every process ready") { satellite.count("ready", of: "launcher") == 1 }
        // A restart before the upgrade, whose count must survive it.
        let repairer = try #require(satellite.pids(of: "repairer").first)
        kill(repairer, SIGKILL)
        try await satellite.until("the repairer back") { satellite.count("ready", of: "repairer") == 2 }
        let before = try await status(satellite)
        #expect((before["launcher"] as? [String: Any])?["version"] as? String == "0.1.0-dev")
        let spawnedBefore = satellite.count("spawned")

        let load = SteadyLoad(port: port)
        load.start()
        defer { load.stop() }
        try await satellite.until("load answered") { load.counts.ok >= 50 }
        try await build.installLauncher(version: "0.1.1-upgrade-test")
        let upgrade = try await SatelliteProcess.run(["upgrade", "--data-dir", satellite.dataDir])
        #expect(upgrade.status == 0, "\(upgrade.stderr)")
        #expect(upgrade.stdout == "launcher pid \(satellite.pid) upgraded in place: 0.1.0-dev -> 0.1.1-upgrade-test\n")
        let answeredAtUpgrade = load.counts.ok
        try await satellite.until("load answered after the upgrade") { load.counts.ok >= answeredAtUpgrade + 50 }
        load.stop()
        #expect(load.counts.refused == 0 && load.counts.failed == 0, "\(load.counts)")

        let after = try await status(satellite)
        let launcher = try #require(after["launcher"] as? [String: Any])
        #expect(launcher["pid"] as? Int == Int(satellite.pid))
        #expect(launcher["version"] as? String == "0.1.1-upgrade-test")
        #expect(Self.sameMoment(launcher["started_at"], (before["launcher"] as? [String: Any])?["started_at"]))
        let (old, new) = (processes(before), processes(after))
        for name in ["migration", "core", "api", "repairer"] {
            #expect(new[name]?["pid"] as? Int == old[name]?["pid"] as? Int, "\(name) changed pid")
            #expect(new[name]?["state"] as? String == old[name]?["state"] as? String, "\(name)")
            #expect(new[name]?["restarts"] as? Int == old[name]?["restarts"] as? Int, "\(name)")
            #expect(Self.sameMoment(new[name]?["ready_since"], old[name]?["ready_since"]), "\(name)")
        }
        // Each peer said its version with its READY; the new launcher still knows it.
        for name in ["core", "api", "repairer"] { #expect(new[name]?["version"] as? String == "0.1.0-dev", "\(name)") }
        #expect(new["migration"]?["version"] is NSNull)
        #expect(new["repairer"]?["restarts"] as? Int == 1)
        #expect(new["migration"]?["last_exit_code"] as? Int == 0)
        #expect(satellite.count("spawned") == spawnedBefore, "a process was started again")
        #expect(satellite.count("took over from the previous launcher") == 1)

        // The new launcher supervises: a killed peer is restarted, and counted on from 1.
        kill(try #require(satellite.pids(of: "repairer").last), SIGKILL)
        try await satellite.until("the repairer back again") { satellite.count("ready", of: "repairer") == 3 }
        #expect(processes(try await status(satellite))["repairer"]?["restarts"] as? Int == 2)

        // A launcher that cannot start: the running one goes on, and says why.
        try build.installLauncher(script: "echo 'fatal: this build is broken' >&2; exit 3")
        let refused = try await SatelliteProcess.run(["upgrade", "--data-dir", satellite.dataDir])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("failed its trial (exit code 3): fatal: this build is broken"), "\(refused.stderr)")
        let still = try await status(satellite)
        #expect((still["launcher"] as? [String: Any])?["version"] as? String == "0.1.1-upgrade-test")
        #expect((still["launcher"] as? [String: Any])?["pid"] as? Int == Int(satellite.pid))
        #expect(satellite.count("upgrade refused; this launcher goes on") == 1)

        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
        #expect(satellite.events.filter { $0.msg == "stopped" && $0.process != "launcher" }.map(\.process) == ["repairer", "api", "core"])
    }

    @Test func anUpgradeToAMissingProgramIsRefusedAndSIGUSR2Upgrades() async throws {
        let build = try InstalledBuild()
        let satellite = try LaunchedSatellite(executable: build.satellite, config: """
            processes:
              - {name: first, exec: /bin/sleep, args: ["1000"]}
            """)
        try await satellite.until("ready") { satellite.count("ready", of: "launcher") == 1 }
        try FileManager.default.removeItem(at: build.launcher)
        let missing = try await SatelliteProcess.run(["upgrade", "--data-dir", satellite.dataDir])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot start \(build.launcher.path)"), "\(missing.stderr)")
        // SIGUSR2 is the same upgrade, for a unit's ExecReload= or kill.
        try await build.installLauncher(version: "0.1.2-signalled")
        kill(satellite.pid, SIGUSR2)
        try await satellite.until("the upgrade by signal") { satellite.count("took over from the previous launcher") == 1 }
        #expect((try await status(satellite)["launcher"] as? [String: Any])?["version"] as? String == "0.1.2-signalled")
        #expect(satellite.count("spawned") == 1)
        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
    }

    @Test func underSystemdAnUpgradeIsAReloadThatEndsReady() async throws {
        let build = try InstalledBuild()
        let socketDirectory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: socketDirectory) }
        let socketPath = socketDirectory.appendingPathComponent("notify").path
        let socket = try NotifySocket(path: socketPath)
        defer { socket.close() }
        let satellite = try LaunchedSatellite(executable: build.satellite, config: """
            processes:
              - {name: first, exec: /bin/sleep, args: ["1000"]}
            """, environment: ["NOTIFY_SOCKET": socketPath])
        var received: [String] = []
        while !received.contains(where: { $0.hasPrefix("READY=1") }) {
            guard let message = await socket.receive(timeoutSeconds: 20) else { break }
            received.append(message)
        }
        try await build.installLauncher(version: "0.1.3-reloaded")
        let upgrade = try await SatelliteProcess.run(["upgrade", "--data-dir", satellite.dataDir])
        #expect(upgrade.status == 0, "\(upgrade.stderr)")
        while received.filter({ $0.hasPrefix("READY=1") }).count < 2 {
            guard let message = await socket.receive(timeoutSeconds: 10) else { break }
            received.append(message)
        }
        let reloading = try #require(received.firstIndex { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }, "\(received)")
        #expect(received[reloading].hasSuffix("\nSTATUS=upgrading to 0.1.3-reloaded"))
        #expect(received[(reloading + 1)...].first { $0.hasPrefix("READY=1") } == "READY=1\nSTATUS=1/1 ready", "\(received)")
        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
    }

    enum Moment: String, CaseIterable {
        /// The new program is on trial (it never answers).
        case duringTheTrial
        /// The exec happened; the new program never takes over.
        case afterTheExec
    }

    @Test(arguments: Moment.allCases)
    func aLauncherKilledDuringAnUpgradeLeavesNoProcessBehind(moment: Moment) async throws {
        let build = try InstalledBuild()
        let satellite = try LaunchedSatellite(executable: build.satellite, config: """
            processes:
              - {name: first, exec: /bin/sh, args: ["-c", "sleep 1000 & sleep 1000"]}
              - {name: second, exec: /bin/sleep, args: ["1000"]}
            """)
        try await satellite.until("ready") { satellite.count("ready", of: "launcher") == 1 }
        // Neither stand-in forks: a child of theirs would hold the guard's pipe open past them.
        switch moment {
        case .duringTheTrial:
            try build.installLauncher(script: "exec sleep 1000")
        case .afterTheExec:
            let real = try build.keepRealLauncher()
            try build.installLauncher(script: "if [ \"$1\" = --probe-fd ]; then exec \(real.path) \"$@\"; fi\nexec sleep 1000")
        }
        let dataDir = satellite.dataDir
        let upgrade = Task { try await SatelliteProcess.run(["upgrade", "--data-dir", dataDir], timeout: 60) }
        defer { upgrade.cancel() }
        switch moment {
        case .duringTheTrial:
            try await satellite.until("the trial") { satellite.count("upgrade: trying the new launcher") == 1 }
        case .afterTheExec:
            try await satellite.until("the exec") {
                (try? String(contentsOfFile: "/proc/\(satellite.pid)/comm", encoding: .utf8)) == "sleep\n"
            }
        }
        let family = descendants(of: satellite.pid)
        #expect(family.count >= 5, "\(family)")  // guard, first and its sleeps, second (and the trial)
        kill(satellite.pid, SIGKILL)
        try await satellite.until("every process of the launcher gone", timeout: 20) { family.allSatisfy { !$0.isAlive } }
        _ = try await upgrade.value
    }
}
