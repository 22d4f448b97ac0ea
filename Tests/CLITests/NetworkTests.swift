import Foundation
import Testing

/// `satellite network setup` and the `uplink` command against the network it makes, run as an
/// operator and a user run them: the launcher starts the satellite's peers and the nodes, files go
/// up and come back, and nothing plaintext reaches the satellite.
@Suite(.timeLimit(.minutes(3)))
struct NetworkTests {
    @Test func aNetworkOnOneMachineStoresFilesThroughTheUplinkCommand() async throws {
        let network = try await LaunchedNetwork(nodes: 5)
        let directory = network.directory, launched = network.launched
        #expect(network.access.hasPrefix("sa1"))
        #expect(try await SatelliteProcess.run(["network", "setup", "--dir", network.root]).status == 1, "never overwrites")
        #expect(launched.count("ready") >= 9, "migration is a one-shot; core, api, repairer and five nodes report ready")
        #expect(try await network.uplink("mb", "sj://files").status == 0)
        let content = Data("the known content marker ".utf8) + Data((0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })
        let local = directory.appendingPathComponent("photo.jpg")
        try content.write(to: local)
        let up = try await network.uplink("cp", local.path, "sj://files/holidays/secret-island.jpg")
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stderr.isEmpty, "no progress bar when standard error is not a terminal: \(up.stderr)")
        let back = directory.appendingPathComponent("back.jpg")
        let down = try await network.uplink("cp", "sj://files/holidays/secret-island.jpg", back.path)
        #expect(down.status == 0, "\(down.stderr)")
        #expect(FileManager.default.contents(atPath: back.path) == content)
        // A range keeps just its bytes (here across the sealed 64 KiB blocks of one segment).
        let part = directory.appendingPathComponent("part")
        let ranged = try await network.uplink("cp", "--range", "65000:100000", "sj://files/holidays/secret-island.jpg", part.path)
        #expect(ranged.status == 0, "\(ranged.stderr)")
        #expect(FileManager.default.contents(atPath: part.path) == content[65_000..<165_000])
        let listed = try await network.uplink("ls", "sj://files/holidays/")
        #expect(listed.stdout.contains("sj://files/holidays/secret-island.jpg"), "\(listed.stdout)")
        let missing = try await network.uplink("cp", "sj://files/nothing-here", back.path)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("404"), "\(missing.stderr)")
        #expect(FileManager.default.contents(atPath: back.path) == content, "a failed download leaves the file that was there")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".uplink-") } == [], "and no partial file")
        let badRange = try await network.uplink("cp", "--range", "10", "sj://files/holidays/secret-island.jpg", part.path)
        #expect(badRange.status == 64, "\(badRange.stderr)")
        let noAccess = try await SatelliteProcess.run(["ls"], in: directory, environment: ["HOME": directory.path], program: LaunchedNetwork.uplink)
        #expect(noAccess.status == 78)

        // What the satellite holds, its database and its logs, names neither the key nor the content.
        let enumerator = FileManager.default.enumerator(atPath: network.root + "/satellite")
        while let file = enumerator?.nextObject() as? String {
            guard let bytes = FileManager.default.contents(atPath: network.root + "/satellite/" + file) else { continue }
            #expect(bytes.range(of: Data("secret-island".utf8)) == nil, "\(file) names the key")
            #expect(bytes.range(of: Data("known content marker".utf8)) == nil, "\(file) holds the content")
        }

        kill(launched.pid, SIGTERM)
        #expect(try await launched.exitStatus() == 0)
        let stopped = launched.events.filter { $0.msg == "stopped" }.map(\.process)
        #expect(stopped.prefix(5) == ["node5", "node4", "node3", "node2", "node1"], "the nodes stop first, in reverse: \(stopped)")
    }
}
