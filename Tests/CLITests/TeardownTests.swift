import Foundation
import Testing

/// A launch's teardown touches only its own processes. Found by the soak: after a launcher was
/// killed and launched again on the same data, the released launch killed the process group of
/// every pid in the shared log, and one of those pids had come round again as the new launcher's
/// (pids here wrap at 32,768). The new launch died unseen, and `status` never answered again.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct TeardownTests {
    static let flags = ["--api.address=127.0.0.1:0", "--contact.checkin-interval=0s"]

    /// Launches on `directory`, kills that launcher and launches again on the same data (with the
    /// pid `wanted` names, when it names one), runs `meanwhile`, then releases the first launch.
    /// - Returns: the second launch.
    private static func relaunch(
        in directory: URL, withPid wanted: (LaunchedSatellite) -> Int32? = { _ in nil },
        meanwhile: (LaunchedSatellite) async throws -> Void = { _ in }
    ) async throws -> LaunchedSatellite {
        let dataDir = directory.appendingPathComponent("data").path
        var earlier: LaunchedSatellite? = try LaunchedSatellite(reusing: dataDir, flags: flags)
        try await earlier!.until("the first launch ready") { earlier!.count("ready", of: "launcher") == 1 }
        let pid = wanted(earlier!)
        kill(earlier!.pid, SIGKILL)
        _ = try await earlier!.exitStatus()
        let later = try await launch(on: dataDir, withPid: pid)
        try await meanwhile(later)
        // The shared log names the processes of both launches, and maybe the later launcher's pid.
        earlier = nil
        return later
    }

    private static func launch(on dataDir: String, withPid pid: Int32?) async throws -> LaunchedSatellite {
        guard let pid else { return try LaunchedSatellite(reusing: dataDir, flags: flags) }
        // The earlier launch's children end by their parent-death signal; the pid is free once
        // init has reaped its holder.
        let deadline = ContinuousClock.now + .seconds(10)
        while ProcessIdentity(pid: pid) != nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        try #require(ProcessIdentity(pid: pid) == nil, "pid \(pid) was not freed")
        // Until the launcher gets the pid (another process may take it first); the counter goes
        // back at once, so that other tests' processes do not meet recycled pids early.
        for _ in 0..<50 {
            let counter = try #require(kernelNumber("ns_last_pid"))
            if let problem = setLastPid(pid - 1) { Issue.record(Comment(rawValue: problem)); throw CancellationError() }
            let launch = try LaunchedSatellite(reusing: dataDir, flags: flags)
            _ = setLastPid(max(counter, kernelNumber("ns_last_pid") ?? counter))
            if launch.pid == pid { return launch }
            launch.killAll()
        }
        Issue.record("no launch got pid \(pid) in 50 tries")
        throw CancellationError()
    }

    @Test func anEarlierLaunchsTeardownLeavesTheLaterLaunchOnTheSameDataAlone() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var family: [ProcessIdentity] = []
        let later = try await Self.relaunch(in: directory, meanwhile: { later in
            try await later.until("the second launch ready") { later.count("ready", of: "launcher") == 2 }
            family = descendants(of: later.pid)
        })
        #expect(family.count >= 4, "core, api, repairer and the guard: \(family)")
        // A round trip to the later launcher, time enough for any signal to have landed.
        let status = try await SatelliteProcess.run(["status", "--json", "--data-dir", later.dataDir])
        #expect(status.status == 0, "\(status.stderr)")
        for member in family { #expect(member.isAlive, "the earlier launch's teardown killed \(member)") }
        #expect(later.count("exited") == 2, "only the two migrations may have exited: \(later.events.filter { $0.msg == "exited" }.map(\.process))")
    }

    @Test(.enabled(if: getuid() == 0, "choosing the next pid needs root"))
    func aLaunchHoldingAPidOfAnEarlierLaunchSurvivesItsTeardown() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let later = try await Self.relaunch(in: directory, withPid: { $0.pids(of: "api").last })
        try await later.until("the second launch ready") { later.count("ready", of: "launcher") == 2 }
        #expect(later.process.isRunning, "the earlier launch's teardown killed the launcher that took its API's pid")
    }
}
