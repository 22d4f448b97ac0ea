import Foundation
import SatelliteDB
import Testing

/// `satellite network setup` and the `uplink` command against the network it makes, run as an
/// operator and a user run them: the launcher starts the satellite's peers and the nodes, files go
/// up and come back, and nothing plaintext reaches the satellite.
@Suite(.timeLimit(.minutes(3)))
struct NetworkTests {
    static var uplink: URL { SatelliteProcess.executable.deletingLastPathComponent().appendingPathComponent("uplink") }

    /// `count` consecutive loopback ports that were free a moment ago, below the range the kernel
    /// hands out for other tests' ephemeral ports (one of which took a node's port in a full run).
    static func freePorts(_ count: Int) throws -> Int {
        let ephemeral = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
        for _ in 0..<100 {
            let base = Int.random(in: 10_000...(ephemeral - count - 1))
            let fds = (0..<count).map { offset -> Int32 in
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(base + offset).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                if bound != 0 { close(fd); return -1 }
                return fd
            }
            fds.filter { $0 >= 0 }.forEach { close($0) }
            if fds.allSatisfy({ $0 >= 0 }) { return base }
        }
        throw CocoaError(.featureUnsupported)
    }

    @Test func aNetworkOnOneMachineStoresFilesThroughTheUplinkCommand() async throws {
        let directory = try temporaryDirectory()
        let network = directory.appendingPathComponent("net").path
        let base = try Self.freePorts(6)
        let setup = try await SatelliteProcess.run(["network", "setup", "--dir", network, "--nodes", "5", "--base-port", "\(base)"])
        #expect(setup.status == 0, "\(setup.stderr)")
        let access = String(setup.stdout.split(separator: "\n").last ?? "")
        #expect(access.hasPrefix("sa1"))
        #expect(try await SatelliteProcess.run(["network", "setup", "--dir", network]).status == 1, "never overwrites")

        let launched = try LaunchedSatellite(configFile: network + "/satellite.yaml", dataDir: network + "/satellite", in: directory)
        try await launched.until("the network ready") { launched.count("ready", of: "launcher") >= 1 }
        #expect(launched.count("ready") >= 9, "migration is a one-shot; core, api, repairer and five nodes report ready")
        // Every node has checked in before a file is stored on them.
        let database = try SatelliteDatabase(path: network + "/satellite/satellite.db", busyTimeout: .seconds(5))
        defer { try? database.close() }
        try await launched.until("five nodes checked in") { ((try? database.nodeCount()) ?? 0) >= 5 }

        func uplink(_ arguments: String..., input: URL? = nil) async throws -> SatelliteProcess {
            try await SatelliteProcess.run(arguments, in: directory, environment: ["UPLINK_ACCESS": access, "HOME": directory.path], program: Self.uplink)
        }
        #expect(try await uplink("mb", "sj://files").status == 0)
        let content = Data("the known content marker ".utf8) + Data((0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })
        let local = directory.appendingPathComponent("photo.jpg")
        try content.write(to: local)
        let up = try await uplink("cp", local.path, "sj://files/holidays/secret-island.jpg")
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stderr.isEmpty, "no progress bar when standard error is not a terminal: \(up.stderr)")
        let back = directory.appendingPathComponent("back.jpg")
        let down = try await uplink("cp", "sj://files/holidays/secret-island.jpg", back.path)
        #expect(down.status == 0, "\(down.stderr)")
        #expect(FileManager.default.contents(atPath: back.path) == content)
        // A range keeps just its bytes (here across the sealed 64 KiB blocks of one segment).
        let part = directory.appendingPathComponent("part")
        let ranged = try await uplink("cp", "--range", "65000:100000", "sj://files/holidays/secret-island.jpg", part.path)
        #expect(ranged.status == 0, "\(ranged.stderr)")
        #expect(FileManager.default.contents(atPath: part.path) == content[65_000..<165_000])
        let listed = try await uplink("ls", "sj://files/holidays/")
        #expect(listed.stdout.contains("sj://files/holidays/secret-island.jpg"), "\(listed.stdout)")
        let missing = try await uplink("cp", "sj://files/nothing-here", back.path)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("404"), "\(missing.stderr)")
        #expect(FileManager.default.contents(atPath: back.path) == content, "a failed download leaves the file that was there")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".uplink-") } == [], "and no partial file")
        let badRange = try await uplink("cp", "--range", "10", "sj://files/holidays/secret-island.jpg", part.path)
        #expect(badRange.status == 64, "\(badRange.stderr)")
        let noAccess = try await SatelliteProcess.run(["ls"], in: directory, environment: ["HOME": directory.path], program: Self.uplink)
        #expect(noAccess.status == 78)

        // What the satellite holds, its database and its logs, names neither the key nor the content.
        let enumerator = FileManager.default.enumerator(atPath: network + "/satellite")
        while let file = enumerator?.nextObject() as? String {
            guard let bytes = FileManager.default.contents(atPath: network + "/satellite/" + file) else { continue }
            #expect(bytes.range(of: Data("secret-island".utf8)) == nil, "\(file) names the key")
            #expect(bytes.range(of: Data("known content marker".utf8)) == nil, "\(file) holds the content")
        }

        kill(launched.pid, SIGTERM)
        #expect(try await launched.exitStatus() == 0)
        let stopped = launched.events.filter { $0.msg == "stopped" }.map(\.process)
        #expect(stopped.prefix(5) == ["node5", "node4", "node3", "node2", "node1"], "the nodes stop first, in reverse: \(stopped)")
    }
}
