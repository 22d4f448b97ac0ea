import Crypto
import Foundation
import Identity
import NodeProtocol
import SatelliteDB
import SatelliteDBSQLite
import Testing

/// The `storagenode` executable as an operator runs it: setup, run against a launched satellite,
/// SIGTERM.
@Suite(.timeLimit(.minutes(2)))
struct StorageNodeProcessTests {
    static var executable: URL {
        SatelliteProcess.executable.deletingLastPathComponent().appendingPathComponent("storagenode")
    }

    @Test func setupMakesAnIdentityAndAConfigFileAndNeverOverwritesThem() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("node").path
        let umask022 = #"umask 022 && exec "$0" "$@""#
        let setup = try await SatelliteProcess.run(["-c", umask022, Self.executable.path, "setup", "--data-dir=\(dataDir)"], program: URL(fileURLWithPath: "/bin/sh"))
        #expect(setup.status == 0, "\(setup.stderr)")
        let identity = try IdentityFile.load(from: dataDir + "/identity.key")
        #expect(setup.stdout.contains("node id: \(identity.id.hex)"), "\(setup.stdout)")
        func mode(_ path: String) throws -> Int? { try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int }
        #expect(try mode(dataDir) == 0o700)
        #expect(try mode(dataDir + "/identity.key") == 0o600)
        #expect(try mode(dataDir + "/storagenode.yaml") == 0o640)
        let config = try String(contentsOfFile: dataDir + "/storagenode.yaml", encoding: .utf8)
        #expect(config.contains("data-dir: \(dataDir)\n") && config.contains("satellite-url:"))

        let key = try Data(contentsOf: URL(fileURLWithPath: dataDir + "/identity.key"))
        let again = try await SatelliteProcess.run(["setup", "--data-dir=\(dataDir)"], program: Self.executable)
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dataDir + "/identity.key")) == key)
    }

    @Test func runningWithoutATrustedSatelliteOrAnIdentityIsAConfigurationError() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("node").path
        let untrusting = try await SatelliteProcess.run(["run", "--data-dir=\(dataDir)"], program: Self.executable)
        #expect(untrusting.status == 78)
        #expect(untrusting.stderr.contains("contact.satellite-id is not set"), "\(untrusting.stderr)")
        let satellite = PeerIdentity.generate().id.hex
        let keyless = try await SatelliteProcess.run(["run", "--data-dir=\(dataDir)", "--contact.satellite-id=\(satellite)"], program: Self.executable)
        #expect(keyless.status == 78)
        #expect(keyless.stderr.contains("identity \(dataDir)/identity.key: does not exist"), "\(keyless.stderr)")
        let badID = try await SatelliteProcess.run(["run", "--data-dir=\(dataDir)", "--contact.satellite-id=xyz"], program: Self.executable)
        #expect(badID.status == 78)
        #expect(badID.stderr.contains("contact.satellite-id"), "\(badID.stderr)")
        let unknown = try await SatelliteProcess.run(["config"], environment: ["STORAGENODE_CONTACT_SATELITE_URL": "x"], program: Self.executable)
        #expect(unknown.status == 0, "an unknown variable is a warning")
        #expect(unknown.stderr.contains("STORAGENODE_CONTACT_SATELITE_URL"), "\(unknown.stderr)")
    }

    @Test func aNodeChecksInWithTheIdItsKeyProvesAndStopsOnSIGTERM() async throws {
        let port = try freePort()
        let satellite = try LaunchedSatellite(flags: ["--api.address=127.0.0.1:\(port)", "--contact.checkin-interval=0s", "--contact.allow-private-addresses=true"])
        defer { satellite.killAll() }
        let nodeDir = satellite.directory.appendingPathComponent("node").path
        #expect(try await SatelliteProcess.run(["setup", "--data-dir=\(nodeDir)"], program: Self.executable).status == 0)
        let identity = try IdentityFile.load(from: nodeDir + "/identity.key")

        let node = Process()
        node.executableURL = Self.executable
        // The node does not yet verify anything the satellite signs (order limits come next), so
        // any well-formed id will do here.
        node.arguments = [
            "run", "--config", nodeDir + "/storagenode.yaml", "--contact.satellite-url=http://127.0.0.1:\(port)",
            "--contact.satellite-id=\(PeerIdentity.generate().id.hex)", "--contact.external-address=127.0.0.1:28967", "--contact.interval=1s",
            "--server.address=127.0.0.1:\(try freePort())",
        ]
        node.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        node.standardError = errors
        let output = PipeDrain(errors)
        try node.run()
        defer { if node.isRunning { kill(node.processIdentifier, SIGKILL) } }

        // The database exists once the migration has run: wait for the launch to be ready.
        try await satellite.until("every process ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        let database = try SQLiteDatabase(path: satellite.dataDir + "/satellite.db", busyTimeout: .seconds(5))
        defer { try? database.closeBlocking() }
        try await satellite.until("the node in the overlay") { (try? await database.node(id: identity.id.bytes)) != nil }
        let record = try await #require(try database.node(id: identity.id.bytes))
        #expect(record.address == "127.0.0.1:28967")
        #expect(record.lastNet == "127.0.0.0/24")

        kill(node.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(15)
        while node.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!node.isRunning, "the node did not stop within 15 s of SIGTERM")
        #expect(node.terminationStatus == 0)
        let log = String(decoding: await output.data(within: .seconds(5)), as: UTF8.self)
        #expect(log.contains("checked in"), "\(log.suffix(2000))")
    }

    @Test func theSatellitesLauncherRunsThreeNodesRestartsOneThatIsKilledAndStopsThemInReverse() async throws {
        let directory = try temporaryDirectory()
        let nodes = ["node1", "node2", "node3"]
        for node in nodes {
            #expect(try await SatelliteProcess.run(["setup", "--data-dir=\(directory.path)/\(node)"], program: Self.executable).status == 0)
        }
        let port = try freePort()
        let trusted = PeerIdentity.generate().id.hex
        let ports = try nodes.map { _ in try freePort() }
        let entries = nodes.enumerated().map { index, node in
            """
              - name: \(node)
                exec: \(Self.executable.path)
                args: ["run", "--config", "\(directory.path)/\(node)/storagenode.yaml", "--contact.satellite-url=http://127.0.0.1:\(port)", "--contact.satellite-id=\(trusted)", "--contact.external-address=127.0.0.\(index + 1):\(ports[index])", "--server.address=127.0.0.1:\(ports[index])", "--contact.interval=1s"]
                notify: true
                after: [api]
            """
        }
        let satellite = try LaunchedSatellite(in: directory, config: """
            processes:
              - {name: migration, run: migration, oneshot: true}
              - {name: core, run: core}
              - {name: api, run: api, after: [core]}
            \(entries.joined(separator: "\n"))
            """, flags: ["--api.address=127.0.0.1:\(port)", "--contact.checkin-interval=0s", "--contact.allow-private-addresses=true"])
        defer { satellite.killAll() }
        try await satellite.until("every process ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        let ids = try nodes.map { try IdentityFile.load(from: "\(directory.path)/\($0)/identity.key").id }
        let database = try SQLiteDatabase(path: satellite.dataDir + "/satellite.db", busyTimeout: .seconds(5))
        defer { try? database.closeBlocking() }
        try await satellite.until("three nodes in the overlay") {
            for id in ids where (try? await database.node(id: id.bytes)) == nil { return false }
            return true
        }

        let first = try #require(satellite.pids(of: "node2").first)
        kill(first, SIGKILL)
        try await satellite.until("node2 ready again") { satellite.count("ready", of: "node2") == 2 }
        #expect(satellite.pids(of: "node2").count == 2)
        // The new process checks in again: its contact time moves on.
        let before = try await #require(try database.node(id: ids[1].bytes)?.lastContactSuccess)
        try await satellite.until("node2 checked in again") { ((try? await database.node(id: ids[1].bytes))??.lastContactSuccess ?? before) > before }

        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
        let stopped = satellite.events.filter { $0.msg == "stopping" }.map(\.process)
        #expect(Array(stopped.prefix(3)) == ["node3", "node2", "node1"], "\(stopped)")
    }

    /// An upload request whose body is `body`, of which only `sent` bytes may be sent.
    private static func uploadHead(length: Int) -> [UInt8] {
        Array("POST /v1/pieces/upload HTTP/1.1\r\nHost: node\r\nContent-Type: application/octet-stream\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n".utf8)
    }

    private static func uploadBody(_ data: [UInt8], satellite: PeerIdentity, node: NodeID, uplink: PeerIdentity) -> (PieceID, [UInt8]) {
        let piece = PieceID.random()
        let now = Int64(Date().timeIntervalSince1970)
        let limit = OrderLimit.signed(
            by: satellite, serial: Data((0..<16).map { _ in UInt8.random(in: 0...255) }), uplinkPublicKey: uplink.publicKeyBytes, storageNodeID: node,
            pieceID: piece, action: .put, limit: Int64(data.count), orderExpiration: now + 3600, orderCreation: now
        )
        var body = PieceFrame.limit(limit.encoded).encoded
        for start in stride(from: 0, to: data.count, by: 64 << 10) { body += PieceFrame.data(Data(data[start..<min(start + (64 << 10), data.count)])).encoded }
        let hash = PieceHash(pieceID: piece, hash: Data(SHA256.hash(data: data)), pieceSize: Int64(data.count), timestamp: now).signed(with: uplink.sign)
        return (piece, [UInt8](body + PieceFrame.hash(hash.encoded).encoded))
    }

    @Test func aNodeKilledMidUploadKeepsNoPieceAndReportsTheSpaceOfWhatItHolds() async throws {
        let port = try freePort()
        let satelliteProcess = try LaunchedSatellite(flags: ["--api.address=127.0.0.1:\(port)", "--contact.checkin-interval=0s", "--contact.allow-private-addresses=true"])
        defer { satelliteProcess.killAll() }
        let nodeDir = satelliteProcess.directory.appendingPathComponent("node").path
        #expect(try await SatelliteProcess.run(["setup", "--data-dir=\(nodeDir)"], program: Self.executable).status == 0)
        let identity = try IdentityFile.load(from: nodeDir + "/identity.key")
        let satellite = PeerIdentity.generate()
        let uplink = PeerIdentity.generate()
        let piecePort = try freePort()
        let allocated: Int64 = 64 << 20
        func start() throws -> Process {
            let node = Process()
            node.executableURL = Self.executable
            node.arguments = [
                "run", "--config", nodeDir + "/storagenode.yaml", "--contact.satellite-url=http://127.0.0.1:\(port)", "--contact.satellite-id=\(satellite.id.hex)",
                "--contact.external-address=127.0.0.1:\(piecePort)", "--server.address=127.0.0.1:\(piecePort)", "--contact.interval=200ms", "--storage.allocated=\(allocated)",
            ]
            node.standardOutput = FileHandle.nullDevice
            node.standardError = FileHandle.nullDevice
            try node.run()
            return node
        }
        func listening() -> Bool {
            guard let connection = LoopbackConnection(port: piecePort) else { return false }
            connection.close()
            return true
        }
        // The database exists once the migration has run: wait for the launch to be ready.
        try await satelliteProcess.until("every process ready") { satelliteProcess.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        let database = try SQLiteDatabase(path: satelliteProcess.dataDir + "/satellite.db", busyTimeout: .seconds(5))
        defer { try? database.closeBlocking() }

        var node = try start()
        defer { if node.isRunning { kill(node.processIdentifier, SIGKILL) } }
        try await satelliteProcess.until("the node listening") { listening() }
        // One piece stored whole.
        let kept = [UInt8]((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        let (keptPiece, keptBody) = Self.uploadBody(kept, satellite: satellite, node: identity.id, uplink: uplink)
        let stored = try #require(LoopbackConnection(port: piecePort))
        stored.send(Self.uploadHead(length: keptBody.count) + keptBody)
        #expect(String(decoding: stored.receiveAll(), as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        stored.close()
        // One cut off: half its bytes sent, then the node is killed.
        let (cutPiece, cutBody) = Self.uploadBody([UInt8](repeating: 9, count: 4 << 20), satellite: satellite, node: identity.id, uplink: uplink)
        let cut = try #require(LoopbackConnection(port: piecePort))
        defer { cut.close() }
        cut.send(Self.uploadHead(length: cutBody.count) + Array(cutBody.prefix(2 << 20)))
        let temp = nodeDir + "/pieces/temp"
        try await satelliteProcess.until("the cut upload's bytes in a temp file") {
            ((try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? []).contains { name in
                ((try? FileManager.default.attributesOfItem(atPath: temp + "/" + name)[.size] as? NSNumber)?.int64Value ?? 0) > 1 << 20
            }
        }
        kill(node.processIdentifier, SIGKILL)
        node.waitUntilExit()
        let killedAt = Date()

        func blob(_ piece: PieceID) -> String { nodeDir + "/pieces/blobs/\(satellite.id.hex)/\(piece.hex.prefix(2))/\(piece.hex.dropFirst(2))" }
        #expect(FileManager.default.fileExists(atPath: blob(keptPiece)))
        #expect(!FileManager.default.fileExists(atPath: blob(cutPiece)), "a killed upload left a piece at its final path")

        node = try start()
        try await satelliteProcess.until("the node listening again") { listening() }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? ["?"]).isEmpty, "the restart deletes what the killed upload left")
        // The space it reports is the allocation less the one piece file, nothing of the cut upload.
        let expected = allocated - Int64(kept.count + 512)
        try await satelliteProcess.until("a check-in since the restart with the space of what the node holds") {
            guard let record = (try? await database.node(id: identity.id.bytes)) ?? nil, let contact = record.lastContactSuccess else { return false }
            return contact > killedAt && record.freeDisk == expected
        }
        kill(node.processIdentifier, SIGTERM)
        await node.exited()
    }
}
