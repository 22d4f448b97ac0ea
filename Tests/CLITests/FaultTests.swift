import Foundation
import Identity
import NodeProtocol
import Synchronization
import Testing

/// The fault-injection suite. The short form runs with every test: each fault once, then a few
/// at random. The soak is the same run for as long as `SATELLITE_SOAK_MINUTES` says
/// (`scripts/soak 30`); it is skipped when that is not set.
@Suite
struct FaultTests {
    static let soakMinutes = ProcessInfo.processInfo.environment["SATELLITE_SOAK_MINUTES"].flatMap(Int.init)
    /// Only these faults in the soak (comma-separated names as the summary prints them), when set.
    static let soakFaults = ProcessInfo.processInfo.environment["SATELLITE_SOAK_FAULTS"].map { $0.split(separator: ",").map(String.init) }

    @Test(.timeLimit(.minutes(4)))
    func theSatelliteRecoversFromEveryFaultAndLosesNothingAcknowledged() async throws {
        let run = try await FaultRun()
        var generator = SystemRandomNumberGenerator()
        let faults = run.availableFaults
        for round in 0..<(faults.count + 4) {
            try await run.inject(round < faults.count ? faults[round] : faults.randomElement(using: &generator)!)
        }
        try await run.finish()
        print("fault run summary:\n\(run.summary)")
        let left = Fault.allCases.filter { !faults.contains($0) }
        if !left.isEmpty { print("left out: \(left.map(\.rawValue)) (a tmpfs of the test's own needs root; chattr +i on it, Linux 6.0)") }
    }

    /// Regression: writes blocked on a lock used to hold the peer's task threads, so its heartbeat
    /// stopped and the launcher killed an API that was only waiting.
    @Test(.timeLimit(.minutes(1)))
    func aPeerWaitingOnALockedDatabaseIsNotHung() async throws {
        let port = try freePort()
        let satellite = try LaunchedSatellite(flags: [
            "--api.address=127.0.0.1:\(port)", "--contact.checkin-interval=0s", "--contact.allow-private-addresses=true", "--contact.max-nodes-per-source=0", "--contact.max-nodes-per-source-network=0", "--supervisor.heartbeat-interval=100ms",
            "--supervisor.heartbeat-timeout=1s", "--database.busy-timeout=3s",
        ])
        try await satellite.until("the API ready") { satellite.count("ready", of: "api") == 1 }
        let clients = (0..<8).map { client in
            let loop = BackgroundLoop()
            let next = Mutex(0)
            loop.start {
                let round = next.withLock { value in
                    value += 1
                    return value
                }
                let body = String(decoding: SignedCheckIn(identity: .generate(), address: "10.\(client).\(round % 256).1:1", freeDisk: 1, version: "1").json, as: UTF8.self)
                _ = rawTCP(port, Array("POST /v1/contact/checkin HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8))
            }
            return loop
        }
        defer { for client in clients { client.stop() } }
        // Held past the busy timeout and four heartbeat timeouts, with eight writers waiting.
        let locker = try DatabaseLocker(database: satellite.dataDir + "/satellite.db", seconds: 4)
        try await locker.untilLocked()
        try await locker.untilReleased()
        try await satellite.until("API log: a write refused for the lock") { satellite.logText("api").contains("database locked beyond the busy timeout") }
        #expect(satellite.count("hung") == 0, "a peer waiting on the lock was taken for hung")
        #expect(satellite.count("exited") == 1, "only the migration may have exited")
    }

    @Test(.enabled(if: soakMinutes != nil), .timeLimit(.minutes(soakMinutes.map { $0 + 10 } ?? 1)))
    func soak() async throws {
        let minutes = try #require(Self.soakMinutes)
        // Pids come round during the run, as on a machine that has been up a while: anything
        // that still names a process by an old pid then meets somebody else (pid_max is 32768 here).
        if getuid() == 0, let limit = kernelNumber("pid_max"), let problem = setLastPid(limit - 3000) { print("soak: pids will not wrap: \(problem)") }
        let run = try await FaultRun()
        var generator = SystemRandomNumberGenerator()
        let faults = run.availableFaults.filter { Self.soakFaults?.contains($0.rawValue) ?? true }
        try #require(!faults.isEmpty, "no fault of SATELLITE_SOAK_FAULTS can be injected here")
        let end = ContinuousClock.now + .seconds(minutes * 60)
        var round = 0
        while ContinuousClock.now < end {
            try await run.inject(round < faults.count ? faults[round] : faults.randomElement(using: &generator)!)
            round += 1
            if round % 25 == 0 { print("soak: \(round) faults, \(Int((end - ContinuousClock.now).components.seconds)) s left") }
            // Some steady running between faults, as in production.
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...2000, using: &generator)))
        }
        try await run.finish()
        print("soak summary (\(minutes) minutes):\n\(run.summary)")
    }
}
