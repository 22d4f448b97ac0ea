import Foundation
import Testing

@Suite(.timeLimit(.minutes(3)))
struct InstancesTests {
    static let config = """
        processes:
          - {name: migration, run: migration, oneshot: true}
          - {name: core, run: core}
          - {name: api, run: api, after: [core], instances: 3}
          - {name: repairer, run: repairer, after: [api]}
        """

    func status(_ satellite: LaunchedSatellite) async throws -> [[String: Any]] {
        let result = try await SatelliteProcess.run(["status", "--json", "--data-dir", satellite.dataDir])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return document["processes"] as? [[String: Any]] ?? []
    }

    @Test func threeAPIInstancesRollOneAtATimeUnderLoadAndRefuseNothing() async throws {
        let port = try freePort()
        let satellite = try LaunchedSatellite(config: Self.config, flags: ["--api.address=127.0.0.1:\(port)"])
        try await satellite.until("every process ready") { satellite.count("ready", of: "launcher") == 1 }
        let instances = ["api@1", "api@2", "api@3"]
        let processes = try await status(satellite)
        #expect(processes.map { $0["name"] as? String ?? "" } == ["migration", "core"] + instances + ["repairer"])
        #expect(processes.map { $0["instance_of"] as? String } == [nil, nil, "api", "api", "api", nil])
        #expect(Set(processes.compactMap { $0["pid"] as? Int }).count == 5)
        // What comes after api waits for every instance.
        let events = satellite.events
        let repairerSpawned = try #require(events.firstIndex { $0 == ("repairer", "spawned") })
        for name in instances {
            #expect(events.firstIndex { $0 == (name, "ready") }.map { $0 < repairerSpawned } == true, "\(name)")
            try await satellite.until("\(name)'s own log") { satellite.logText(name).contains(#""msg":"ready""#) }
        }

        let loads = (0..<4).map { _ in SteadyLoad(port: port) }
        for load in loads { load.start() }
        defer { for load in loads { load.stop() } }
        func answered() -> Int { loads.map(\.counts.ok).reduce(0, +) }
        try await satellite.until("some answers") { answered() >= 40 }
        let restart = try await SatelliteProcess.run(["restart", "api", "--data-dir", satellite.dataDir])
        #expect(restart.status == 0, "\(restart.stderr)")
        #expect(restart.stdout == "restarting api@1, api@2, api@3\n")
        try await satellite.until("the roll to end", timeout: 90) { satellite.count("rolling restart done") == 1 }
        let served = answered()
        try await satellite.until("answers after the roll") { answered() >= served + 40 }
        for load in loads { load.stop() }
        for counts in loads.map(\.counts) {
            #expect(counts.refused == 0, "\(counts)")
            #expect(counts.failed == 0, "\(counts)")
        }

        // Each instance was replaced once, one at a time: the next stopped only after the one
        // before was ready again; nothing else restarted.
        let after = satellite.events
        for name in instances { #expect(satellite.count("spawned", of: name) == 2, "\(name)") }
        for name in ["core", "repairer"] { #expect(satellite.count("spawned", of: name) == 1, "\(name)") }
        for (previous, next) in zip(instances, instances.dropFirst()) {
            let back = try #require(after.indices.filter { after[$0] == (previous, "ready") }.dropFirst().first, "\(previous) never came back")
            let stopped = try #require(after.firstIndex { $0 == (next, "stopping") }, "\(next) never stopped")
            #expect(back < stopped, "\(next) was stopped before \(previous) was back")
        }
        // A level given to the entry reaches each instance.
        let level = try await SatelliteProcess.run(["log-level", "debug", "api", "--data-dir", satellite.dataDir])
        #expect(level.status == 0, "\(level.stderr)")
        for name in instances {
            try await satellite.until("\(name)'s new level") { satellite.logText(name).contains(#""msg":"log level changed","level_now":"debug""#) }
        }
        #expect(!satellite.logText("core").contains("log level changed"))
        let again = try await status(satellite)
        #expect(again.filter { ($0["instance_of"] as? String) == "api" }.allSatisfy { $0["state"] as? String == "ready" })

        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
        let final = satellite.events
        let shutdown = try #require(final.firstIndex { $0.msg == "shutting down" })
        let stopped = final[shutdown...].filter { $0.msg == "stopped" && $0.process != "launcher" }.map(\.process)
        #expect(stopped.first == "repairer" && stopped.last == "core" && Set(stopped.dropFirst().dropLast()) == Set(instances), "\(stopped)")
    }
}
