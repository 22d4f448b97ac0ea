import Foundation
import Lifecycle
import Logging
import PeerRuntime
import Satellite
import SatelliteConfig
import SatelliteDB
import SatelliteDBSQLite
import Supervision
import TestPlanet
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// GETs a path on a loopback port and returns the status and body.
private func get(port: Int, _ path: String) async throws -> (status: Int, body: String) {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.timeoutInterval = 10
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

@Suite(.timeLimit(.minutes(1)))
struct PeerTests {
    @Test func planetPeersServeHealthAndMetricsOnTheirDebugPorts() async throws {
        try await TestPlanet.run { planet in
            for server in [planet.core.debug, planet.api.debug, planet.repairer.debug] {
                let port = try #require(await server?.listeningPort())
                #expect(try await get(port: port, "/health/live").status == 200)
                let ready = try await get(port: port, "/health/ready")
                #expect(ready.status == 200)
                #expect(ready.body == "ready\n")
            }
            for (name, peer) in [("core", planet.core.debug), ("api", planet.api.debug), ("repairer", planet.repairer.debug)] {
                let port = try #require(await peer?.listeningPort())
                // Readiness is recorded as soon as every subsystem has started: poll briefly for it.
                var metrics = ""
                let deadline = ContinuousClock.now + .seconds(10)
                while !metrics.contains(#"satellite_peer_ready{peer="\#(name)"} 1"#), ContinuousClock.now < deadline {
                    let answer = try await get(port: port, "/metrics")
                    #expect(answer.status == 200)
                    metrics = answer.body
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(metrics.contains(#"satellite_peer_ready{peer="\#(name)"} 1"#))
            }
            #expect(planet.core.group.names == ["debug", "repair:checker", "accounting:tally", "metainfo:deletion"])
            #expect(planet.api.group.names == ["debug", "api:server"])
            #expect(planet.repairer.group.names == ["debug", "pieces:client", "repair:worker", "gc:retain", "audit:chore"])
        }
    }

    @Test func planetRunsThePeersAsTaskServicesThatStopLikeTheLaunchersProcesses() async throws {
        try await TestPlanet.run { planet in
            let peers = planet.services
            #expect(peers.tagged("peer").alive().names == ["core", "api", "repairer"])
            #expect(peers.alive().withoutAliveDependants().names == ["repairer"])
            let repairer = peers.named("repairer")
            await repairer.stop()
            #expect(await repairer.services[0].waitUntilStopped(timeout: .seconds(10)))
            #expect(peers.alive().names == ["core", "api"])
            #expect(peers.alive().withoutAliveDependants().names == ["api"])
        }
    }

    @Test func reconfigureTurnsADebugEndpointOff() async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.api = { $0.debug.address = "" }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            #expect(planet.api.debug == nil)
            #expect(planet.core.debug != nil)
        }
    }

    @Test func peerThatFailsHalfwayThroughItsInitializerClosesWhatItHadMade() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Not migrated: the schema subsystem, wired after debug, refuses it.
        let database = try SQLiteDatabase(path: directory.appendingPathComponent("satellite.db").path, busyTimeout: .seconds(1))
        defer { try? database.closeBlocking() }
        var config = Core.Config()
        config.debug.address = "127.0.0.1:0"
        let error = await #expect(throws: PeerInitError.self) {
            _ = try await Core(log: Logger(label: "test"), database: database, config: config)
        }
        #expect(error?.peer == "core")
        #expect(error?.failure.item == "schema")
        #expect(error?.failure.underlying as? PeerSetupError == .schemaNotMigrated(location: database.path, database: "", binary: SchemaSteps.all.last!))
        #expect(error?.closeReport.closed == ["debug"])
        #expect(error?.closeReport.failures.isEmpty == true)
        #expect(error?.description.contains("satellite run migration") == true)
        #expect(error?.description.contains("at schema version none, this binary at \(SchemaSteps.all.last!)") == true, "\(error.map { "\($0)" } ?? "")")
    }
}
